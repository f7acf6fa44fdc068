// Package cli is berth's command line: cobra commands with Docker's names,
// flags, output and exit codes, one file per verb. Commands parse flags,
// call the engine and print; they hold no logic of their own.
//
// Layer 9. The only importer of github.com/spf13/cobra.
package cli
