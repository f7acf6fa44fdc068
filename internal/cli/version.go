package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/version"
)

type versionInfo struct {
	Version   string `json:"Version"`
	GitCommit string `json:"GitCommit"`
	GoVersion string `json:"GoVersion"`
	Os        string `json:"Os"`
	Arch      string `json:"Arch"`
}

func newVersionCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the berth version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionInfo{Version: version.Version, GitCommit: version.GitCommit(), GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH}
			if done, err := writeFormatted(g.streams.Out, format, v); done {
				return err
			}
			_, err := fmt.Fprintf(g.streams.Out, "berth:\n Version:      %s\n Git commit:   %s\n Go version:   %s\n OS/Arch:      %s/%s\n",
				v.Version, v.GitCommit, v.GoVersion, v.Os, v.Arch)
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Format output: "json" or a Go template`)
	return cmd
}
