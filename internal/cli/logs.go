package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/monitor"
)

func newLogsCommand(g *globals) *cobra.Command {
	var follow, timestamps bool
	var tail, sinceS, untilS string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1, "CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			v, err := svc.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			sinceT, err := parseTime(sinceS)
			if err != nil {
				return err
			}
			untilT, err := parseTime(untilS)
			if err != nil {
				return err
			}
			n := -1
			if tail != "all" && tail != "" {
				if n, err = strconv.Atoi(tail); err != nil {
					return usageError{fmt.Errorf("invalid tail value %q", tail)}
				}
			}
			f, err := os.Open(svc.LogPath(v.ID))
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				return err
			}
			defer f.Close()
			var entries []monitor.LogEntry
			monitor.ReadLog(f, func(e monitor.LogEntry) error {
				if (sinceT.IsZero() || !e.Time.Before(sinceT)) && (untilT.IsZero() || e.Time.Before(untilT)) {
					entries = append(entries, e)
				}
				return nil
			})
			if n >= 0 && len(entries) > n {
				entries = entries[len(entries)-n:]
			}
			print := func(e monitor.LogEntry) {
				w := g.streams.Out
				if e.Stream == "stderr" {
					w = g.streams.Err
				}
				if timestamps {
					fmt.Fprintf(w, "%s ", e.Time.Format(time.RFC3339Nano))
				}
				io.WriteString(w, e.Log)
			}
			for _, e := range entries {
				print(e)
			}
			if !follow {
				return nil
			}
			// Follow: read what is appended until the container stops.
			for {
				var buf strings.Builder
				chunk := make([]byte, 64<<10)
				for {
					k, err := f.Read(chunk)
					buf.Write(chunk[:k])
					if err != nil || k == 0 {
						break
					}
				}
				if buf.Len() > 0 {
					monitor.ReadLog(strings.NewReader(buf.String()), func(e monitor.LogEntry) error { print(e); return nil })
				}
				cur, err := svc.Get(cmd.Context(), v.ID)
				if err != nil || (cur.State.Status != container.StatusRunning && cur.State.Status != container.StatusRestarting && cur.State.Status != container.StatusPaused) {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	f.StringVar(&sinceS, "since", "", "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
	f.StringVar(&untilS, "until", "", "Show logs before a timestamp or relative time")
	return cmd
}

// parseTime parses Docker's --since/--until: RFC 3339, a Unix time, or a
// duration ago.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(int64(f), 0), nil
	}
	return time.Time{}, usageError{fmt.Errorf("invalid time %q", s)}
}
