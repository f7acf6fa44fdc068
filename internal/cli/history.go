package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

type historyRow struct {
	ID           string
	CreatedSince string
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

var historyHeaders = map[string]string{"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}

func newHistoryCommand(g *globals) *cobra.Command {
	var (
		human, noTrunc, quiet bool
		format                string
	)
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			img, _, err := svc.Resolve(args[0])
			if err != nil {
				return err
			}
			hist, err := svc.History(img)
			if err != nil {
				return err
			}
			var rows []historyRow
			for _, h := range hist {
				r := historyRow{ID: h.ID, CreatedBy: h.CreatedBy, Comment: h.Comment, Size: strconv.FormatInt(h.Size, 10)}
				if !noTrunc && strings.HasPrefix(r.ID, "sha256:") {
					r.ID = r.ID[7:19]
				}
				if human {
					r.Size = humanSize(h.Size)
					r.CreatedSince = since(h.Created)
				} else {
					r.CreatedSince = h.Created.Format("2006-01-02T15:04:05Z07:00")
				}
				r.CreatedAt = h.Created.Format("2006-01-02T15:04:05Z07:00")
				if !noTrunc && len(r.CreatedBy) > 45 {
					r.CreatedBy = r.CreatedBy[:44] + "…"
				}
				rows = append(rows, r)
			}
			if quiet {
				for _, r := range rows {
					g.streams.Out.Write([]byte(r.ID + "\n"))
				}
				return nil
			}
			return writeRows(g.streams.Out, format, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", historyHeaders, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	f.StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	return cmd
}
