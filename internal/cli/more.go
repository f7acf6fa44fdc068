package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newAttachCommand(g *globals) *cobra.Command {
	var noStdin, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1, "CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDetachKeys(detachKeys); err != nil {
				return usageError{err}
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			v, att, err := svc.Attach(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			code, err := attachStreams(g, att, v.Config.Tty, v.Config.OpenStdin && !noStdin, sigProxy && !v.Config.Tty)
			if err != nil {
				return err
			}
			if code != 0 {
				return &StatusError{Status: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", defaultDetachKeys, "Override the key sequence for detaching a container")
	return cmd
}

func newRenameCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2, "CONTAINER NEW_NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return svc.Rename(cmd.Context(), args[0], args[1])
		},
	}
}

type statsRow struct {
	Container, ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
}

func newStatsCommand(g *globals) *cobra.Command {
	var noStream, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a snapshot of containers' resource usage (--no-stream)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !noStream {
				return fmt.Errorf("berth stats: only --no-stream is supported yet")
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				all, err := svc.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, v := range all {
					if v.State.Status == "running" {
						args = append(args, v.ID)
					}
				}
			}
			var rows []statsRow
			for _, a := range args {
				v, s1, err := svc.Stats(cmd.Context(), a)
				if err != nil {
					return err
				}
				t1 := time.Now()
				time.Sleep(200 * time.Millisecond)
				_, s2, err := svc.Stats(cmd.Context(), a)
				if err != nil {
					return err
				}
				cpu := float64(s2.CPUUsageNanos-s1.CPUUsageNanos) / float64(time.Since(t1).Nanoseconds()) * 100
				limit := s2.MemoryLimit
				mem := "--"
				if limit > 0 {
					mem = fmt.Sprintf("%.2f%%", float64(s2.MemoryUsage)/float64(limit)*100)
				}
				id := v.ID
				if !noTrunc {
					id = id[:12]
				}
				rows = append(rows, statsRow{Container: id, ID: id, Name: v.Name, CPUPerc: fmt.Sprintf("%.2f%%", cpu),
					MemUsage: humanBinary(s2.MemoryUsage) + " / " + limitText(limit), MemPerc: mem, NetIO: "0B / 0B", BlockIO: "--",
					PIDs: strconv.FormatUint(s2.PidsCurrent, 10)})
			}
			return writeRows(g.streams.Out, format, "table {{.Container}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
				map[string]string{"Container": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}, rows)
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	cmd.Flags().StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	return cmd
}

func limitText(n uint64) string {
	if n == 0 {
		return "--"
	}
	return humanBinary(n)
}

// humanBinary is Docker's binary size format (MiB, GiB) for memory.
func humanBinary(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

func newTopCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			_, pids, err := svc.Processes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			psArgs := args[1:]
			if len(psArgs) == 0 {
				psArgs = []string{"-ef"}
			}
			// Docker's way: the host's ps, rows filtered to the container's PIDs.
			out, err := exec.CommandContext(cmd.Context(), "ps", psArgs...).Output()
			if err != nil {
				return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Scan()
			header := sc.Text()
			col := -1
			for i, f := range strings.Fields(header) {
				if f == "PID" {
					col = i
				}
			}
			if col < 0 {
				return fmt.Errorf("ps %s: no PID column", strings.Join(psArgs, " "))
			}
			want := map[string]bool{}
			for _, p := range pids {
				want[strconv.Itoa(p)] = true
			}
			fmt.Fprintln(g.streams.Out, header)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) > col && want[f[col]] {
					fmt.Fprintln(g.streams.Out, sc.Text())
				}
			}
			return nil
		},
	}
}
