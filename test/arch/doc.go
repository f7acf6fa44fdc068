// Package arch holds the test that keeps berth's package graph as
// docs/ARCHITECTURE.md draws it: imports go only downward, each heavy
// dependency has one importer, and every package says what it is in doc.go.
package arch
