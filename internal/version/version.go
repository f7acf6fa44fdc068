package version

import "runtime/debug"

// Set by the linker; see the package doc.
var (
	Version = "0.1.0-dev"
	Commit  = ""
)

// GitCommit is Commit, or the VCS revision Go stamped into the binary, or
// "unknown".
func GitCommit() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return s.Value[:7]
			}
		}
	}
	return "unknown"
}
