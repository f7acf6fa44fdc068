package cli

import (
	"fmt"
	"strconv"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"berth.dev/berth/internal/container"
)

// dfRow is one line of `berth system df`; every field is a string, as in
// Docker's JSON.
type dfRow struct {
	Type        string
	TotalCount  string
	Active      string
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
			images, ctrs, err := g.imagesAndContainers(cmd)
			if err != nil {
				return err
			}
			cu, err := ctrs.DiskUsage(cmd.Context())
			if err != nil {
				return err
			}
			used := map[digest.Digest]bool{}
			for _, c := range cu.Containers {
				used[c.ImageID] = true
			}
			iu, err := images.DiskUsage(func(id digest.Digest) bool { return used[id] })
			if err != nil {
				return err
			}
			rows := []dfRow{
				dfLine("Images", iu.Images, iu.Active, iu.LayersSize, iu.Reclaimable),
				containersLine(cu.Containers),
				volumesLine(cu.Volumes),
				dfLine("Build Cache", 0, 0, 0, 0),
			}
			return writeRows(g.streams.Out, format, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
				map[string]string{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}, rows)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	return cmd
}

// containersLine: active containers are running, paused or restarting;
// the others' writable layers are reclaimable (Docker's rule).
func containersLine(cs []container.ContainerUsage) dfRow {
	var active int
	var size, reclaimable int64
	for _, c := range cs {
		size += c.SizeRw
		switch c.State.Status {
		case container.StatusRunning, container.StatusPaused, container.StatusRestarting:
			active++
		default:
			reclaimable += c.SizeRw
		}
	}
	return dfLine("Containers", len(cs), active, size, reclaimable)
}

// volumesLine: a volume is active when a container (in any state) mounts
// it; unused volumes are reclaimable.
func volumesLine(vs []container.VolumeUsage) dfRow {
	var active int
	var size, reclaimable int64
	for _, v := range vs {
		size += v.Size
		if v.RefCount > 0 {
			active++
		} else {
			reclaimable += v.Size
		}
	}
	return dfLine("Local Volumes", len(vs), active, size, reclaimable)
}

// dfLine formats one line as Docker does: sizes with four significant
// digits, and the reclaimable share of a non-zero total in percent
// (rounded down).
func dfLine(typ string, total, active int, size, reclaimable int64) dfRow {
	r := dfRow{Type: typ, TotalCount: strconv.Itoa(total), Active: strconv.Itoa(active),
		Size: humanSizePrec(size, 4), Reclaimable: humanSizePrec(reclaimable, 4)}
	if size > 0 {
		r.Reclaimable += fmt.Sprintf(" (%d%%)", reclaimable*100/size)
	}
	return r
}
