package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/reference"
)

// containers opens the container service through a new engine.
func (g *globals) containers(cmd *cobra.Command) (*container.Service, error) {
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, err
	}
	return e.Containers(cmd.Context())
}

// imagesAndContainers opens both services of one engine (for commands
// that ask whether a container uses an image).
func (g *globals) imagesAndContainers(cmd *cobra.Command) (*image.Service, *container.Service, error) {
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, nil, err
	}
	images, err := e.Images(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	ctrs, err := e.Containers(cmd.Context())
	return images, ctrs, err
}

// checkDetachKeys refuses a --detach-keys berth does not implement, rather
// than ignore it.
func checkDetachKeys(keys string) error {
	if keys != "" && keys != defaultDetachKeys {
		return fmt.Errorf("--detach-keys %q: only %q is supported yet", keys, defaultDetachKeys)
	}
	return nil
}

const defaultDetachKeys = "ctrl-p,ctrl-q"

// forEach runs fn on each argument and prints what Docker prints: the
// argument on success, the error on failure; exit 1 if any failed.
func forEach(g *globals, args []string, fn func(string) error) error {
	var errs []error
	for _, a := range args {
		if err := fn(a); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(g.streams.Out, a)
	}
	return errors.Join(errs...)
}

func newStartCommand(g *globals) *cobra.Command {
	var attach, interactive bool
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			if attach || interactive {
				if len(args) > 1 {
					return usageError{errors.New("you cannot start and attach multiple containers at once")}
				}
				v, att, err := svc.Start(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				code, err := attachStreams(g, att, v.Config.Tty, interactive && v.Config.OpenStdin, !v.Config.Tty)
				if err != nil {
					return err
				}
				if code != 0 {
					return &StatusError{Status: code}
				}
				return nil
			}
			return forEach(g, args, func(a string) error {
				_, att, err := svc.Start(cmd.Context(), a)
				att.Close()
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
	return cmd
}

// stopTimeout is the container's stop timeout, or Docker's 10 s.
func stopTimeout(v *container.View, flagSet bool, flag int) time.Duration {
	t := 10
	if v.Config.StopTimeout != nil {
		t = *v.Config.StopTimeout
	}
	if flagSet {
		t = flag
	}
	if t < 0 {
		return -1
	}
	return time.Duration(t) * time.Second
}

func stopSignal(v *container.View, override string) syscall.Signal {
	s := v.Config.StopSignal
	if override != "" {
		s = override
	}
	if s == "" {
		return syscall.SIGTERM
	}
	sig, err := parseSignal(s)
	if err != nil {
		return syscall.SIGTERM
	}
	return sig
}

func newStopCommand(g *globals, restart bool) *cobra.Command {
	var timeout int
	var signal string
	use, short := "stop", "Stop one or more running containers"
	if restart {
		use, short = "restart", "Restart one or more containers"
	}
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error {
				v, err := svc.Get(cmd.Context(), a)
				if err != nil {
					return err
				}
				if err := svc.Stop(cmd.Context(), v.ID, stopTimeout(v, cmd.Flags().Changed("time"), timeout), stopSignal(v, signal)); err != nil {
					return err
				}
				if restart {
					_, att, err := svc.Start(cmd.Context(), v.ID)
					att.Close()
					return err
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "Seconds to wait before killing the container")
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newKillCommand(g *globals) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := parseSignal(signal)
			if err != nil {
				return err
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error {
				_, err := svc.Kill(cmd.Context(), a, sig)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "Signal to send to the container")
	return cmd
}

func newPauseCommand(g *globals, pause bool) *cobra.Command {
	use, short := "unpause", "Unpause all processes within one or more containers"
	if pause {
		use, short = "pause", "Pause all processes within one or more containers"
	}
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error { return svc.Pause(cmd.Context(), a, pause) })
		},
	}
}

func newRmCommand(g *globals) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error {
				_, err := svc.Remove(cmd.Context(), a, force, volumes)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

func newWaitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			var errs []error
			for _, a := range args {
				code, err := svc.Wait(cmd.Context(), a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(g.streams.Out, code)
			}
			return errors.Join(errs...)
		},
	}
}

func newContainerPruneCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && !confirm(g, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			all, err := svc.List(cmd.Context())
			if err != nil {
				return err
			}
			var removed []string
			for _, v := range all {
				if v.State.Status == container.StatusExited || v.State.Status == container.StatusCreated || v.State.Status == container.StatusDead {
					if id, err := svc.Remove(cmd.Context(), v.ID, false, false); err == nil {
						removed = append(removed, id)
					}
				}
			}
			if len(removed) > 0 {
				fmt.Fprintln(g.streams.Out, "Deleted Containers:")
				for _, id := range removed {
					fmt.Fprintln(g.streams.Out, id)
				}
				fmt.Fprintln(g.streams.Out)
			}
			fmt.Fprintln(g.streams.Out, "Total reclaimed space: 0B")
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func confirm(g *globals, warn string) bool {
	fmt.Fprintf(g.streams.Out, "%s\nAre you sure you want to continue? [y/N] ", warn)
	var line string
	fmt.Fscanln(g.streams.In, &line)
	return strings.EqualFold(line, "y") || strings.EqualFold(line, "yes")
}

func newMonitorCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "monitor CONTAINER",
		Short:  "Run a container's monitor (started by berth itself)",
		Hidden: true,
		Args:   exactArgs(1, "CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			if args[0] == "-" {
				// Started by run ahead of the container.
				return svc.MonitorAhead(cmd.Context())
			}
			return svc.Monitor(cmd.Context(), args[0])
		},
	}
}

// psRow is one line of `berth ps`.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, Status, State, Names, Labels, Size string
}

var psHeaders = map[string]string{"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "State": "STATE", "Names": "NAMES", "Labels": "LABELS", "Size": "SIZE"}

func newPsCommand(g *globals) *cobra.Command {
	var all, quiet, noTrunc, latest, size bool
	var last int
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ps [OPTIONS]",
		Aliases: []string{"ls", "list"},
		Short:   "List containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// As Docker: sizes are measured for -s or a format that shows
			// them (walking every writable layer is not free).
			size = size || strings.Contains(format, ".Size")
			imgs, svc, err := g.imagesAndContainers(cmd)
			if err != nil {
				return err
			}
			list, err := svc.List(cmd.Context())
			if err != nil {
				return err
			}
			if latest {
				last = 1
			}
			if last > 0 {
				all = true
				if len(list) > last {
					list = list[:last]
				}
			}
			var rows []psRow
			for _, v := range list {
				if !all && v.State.Status != container.StatusRunning && v.State.Status != container.StatusPaused && v.State.Status != container.StatusRestarting {
					continue
				}
				ok, err := matchPs(v, filters)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				r := toPsRow(v, noTrunc)
				if size && !quiet {
					rw, err := svc.SizeRw(cmd.Context(), v.ID)
					if err != nil {
						return err
					}
					var virtual int64
					if img, err := imgs.Store().Get(v.ImageID); err == nil {
						virtual = img.Size
					}
					r.Size = fmt.Sprintf("%s (virtual %s)", humanSize(rw), humanSize(rw+virtual))
				}
				rows = append(rows, r)
			}
			if quiet {
				for _, r := range rows {
					fmt.Fprintln(g.streams.Out, r.ID)
				}
				return nil
			}
			def := "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
			if size {
				def += "\t{{.Size}}"
			}
			return writeRows(g.streams.Out, format, def, psHeaders, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&size, "size", "s", false, "Display total file sizes")
	f.BoolVarP(&latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.IntVarP(&last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	f.StringArrayVarP(&filters, "filter", "f", nil, "Filter output (status=, name=, label=, ancestor=, exited=, id=)")
	return cmd
}

func toPsRow(v *container.View, noTrunc bool) psRow {
	id := v.ID
	if !noTrunc {
		id = id[:12]
	}
	command := strings.Join(v.CommandLine(), " ")
	if !noTrunc && len(command) > 20 {
		command = command[:19] + "…"
	}
	var labels []string
	for k, val := range v.Config.Labels {
		labels = append(labels, k+"="+val)
	}
	return psRow{ID: id, Image: v.Config.Image, Command: strconv.Quote(command), CreatedAt: v.Created.Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: since(v.Created), Status: statusText(v), State: v.State.Status, Names: v.Name, Labels: strings.Join(labels, ","),
		Ports: portsText(v)}
}

// portsText is Docker's PORTS column: published ports of a running
// container, as "127.0.0.1:8080->80/tcp".
func portsText(v *container.View) string {
	if v.State.Status != container.StatusRunning {
		return ""
	}
	var out []string
	for _, b := range v.NetworkSettings.Ports {
		host := "0.0.0.0"
		if b.HostIP.IsValid() {
			host = b.HostIP.String()
		}
		out = append(out, fmt.Sprintf("%s:%d->%d/%s", host, b.HostPort, b.ContainerPort, b.Proto))
	}
	return strings.Join(out, ", ")
}

// statusText is Docker's STATUS column.
func statusText(v *container.View) string {
	st := v.State
	switch st.Status {
	case container.StatusRunning:
		up := "Up " + humanDuration(time.Since(st.StartedAt))
		if h := st.Health; h != nil {
			if h.Status == container.HealthStarting {
				return up + " (health: starting)"
			}
			return up + " (" + h.Status + ")"
		}
		return up
	case container.StatusPaused:
		return "Up " + humanDuration(time.Since(st.StartedAt)) + " (Paused)"
	case container.StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, humanDuration(time.Since(st.FinishedAt)))
	case container.StatusExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(time.Since(st.FinishedAt)))
	case container.StatusCreated:
		return "Created"
	}
	return strings.ToUpper(st.Status[:1]) + st.Status[1:]
}

func matchPs(v *container.View, filters []string) (bool, error) {
	for _, f := range filters {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return false, usageError{fmt.Errorf("bad format of filter (expected name=value): %s", f)}
		}
		switch k {
		case "status":
			if v.State.Status != val {
				return false, nil
			}
		case "name":
			if !strings.Contains(v.Name, strings.TrimPrefix(val, "/")) {
				return false, nil
			}
		case "id":
			if !strings.HasPrefix(v.ID, val) {
				return false, nil
			}
		case "label":
			lk, lv, hasV := strings.Cut(val, "=")
			got, ok := v.Config.Labels[lk]
			if !ok || (hasV && got != lv) {
				return false, nil
			}
		case "ancestor":
			// The name as given, its normalised form (busybox matches
			// docker.io/library/busybox:latest), or an image ID prefix.
			same := v.Config.Image == val || v.Image == val
			if r, err := reference.Parse(val); err == nil && r.Familiar() == v.Image {
				same = true
			}
			if !same && !strings.HasPrefix(v.ImageID.Encoded(), strings.TrimPrefix(val, "sha256:")) {
				return false, nil
			}
		case "exited":
			n, err := strconv.Atoi(val)
			if err != nil {
				return false, usageError{fmt.Errorf("invalid filter 'exited=%s'", val)}
			}
			if v.State.Status != container.StatusExited || v.State.ExitCode != n {
				return false, nil
			}
		default:
			return false, usageError{fmt.Errorf("invalid filter '%s'", k)}
		}
	}
	return true, nil
}
