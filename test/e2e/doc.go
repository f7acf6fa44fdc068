// Package e2e drives the built berth binary like a user: each test runs
// commands through one harness (run) with its own temporary root and config,
// and checks output and exit codes.
package e2e
