package cli

import (
	"github.com/spf13/cobra"
)

func newSystemCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage berth",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSystemDfCommand(g), newInfoCommand(g))
	return cmd
}

type dfRow struct {
	Type        string
	TotalCount  int
	Active      int
	Size        string
	Reclaimable string
}

func newSystemDfCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show berth disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			u, err := svc.DiskUsage()
			if err != nil {
				return err
			}
			rows := []dfRow{
				{Type: "Images", TotalCount: u.Images, Size: humanSize(u.LayersSize), Reclaimable: humanSize(u.LayersSize) + " (100%)"},
				{Type: "Containers", Size: "0B", Reclaimable: "0B"},
				{Type: "Local Volumes", Size: "0B", Reclaimable: "0B"},
				{Type: "Build Cache", Size: "0B", Reclaimable: "0B"},
			}
			if u.LayersSize == 0 {
				rows[0].Reclaimable = "0B"
			}
			return writeRows(g.streams.Out, format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
				map[string]string{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}, rows)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	return cmd
}
