package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/compose"
	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/monitor"
	"berth.dev/berth/internal/registryconf"
)

// newComposeCommand is `berth compose`: Compose projects run in-process on
// berth's services.
func newComposeCommand(g *globals) *cobra.Command {
	var lo compose.LoadOptions
	cmd := &cobra.Command{
		Use:   "compose",
		Short: "Define and run multi-container applications (Compose)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// Local to `compose` (given before the subcommand, as with docker
	// compose): -f is --file here and --follow or --force after it.
	pf := cmd.Flags()
	pf.StringArrayVarP(&lo.Files, "file", "f", nil, "Compose configuration files")
	pf.StringVarP(&lo.ProjectName, "project-name", "p", "", "Project name")
	pf.StringVar(&lo.WorkDir, "project-directory", "", "Specify an alternate working directory (default: the path of the first Compose file)")
	pf.StringArrayVar(&lo.EnvFiles, "env-file", nil, "Specify an alternate environment file")
	pf.StringArrayVar(&lo.Profiles, "profile", nil, "Specify a profile to enable")
	cmd.AddCommand(newComposeConfigCommand(g, &lo), newComposeUpCommand(g, &lo), newComposeDownCommand(g, &lo), newComposePsCommand(g, &lo),
		newComposeLogsCommand(g, &lo), newComposePullCommand(g, &lo), newComposePortCommand(g, &lo), newComposeImagesCommand(g, &lo), newComposeLsCommand(g))
	cmd.AddCommand(newComposeExecCommand(g, &lo), newComposeTopCommand(g, &lo), newComposeRunCommand(g, &lo))
	for _, verb := range []string{"start", "stop", "restart", "kill", "rm"} {
		cmd.AddCommand(newComposeLifecycleCommand(g, &lo, verb))
	}
	return cmd
}

// composeBackend opens the engine's compose backend and the project's name,
// for commands that pull nothing (those that do take registryFlags).
func composeBackend(cmd *cobra.Command, g *globals, lo *compose.LoadOptions) (compose.Backend, string, error) {
	name, err := projectName(cmd, lo)
	if err != nil {
		return compose.Backend{}, "", err
	}
	e, err := g.newEngine(cmd)
	if err != nil {
		return compose.Backend{}, "", err
	}
	b, err := e.Compose(cmd.Context(), registryconf.Flags{})
	return b, name, err
}

// selected are the project's containers of the services named (all if
// none).
func selected(cmd *cobra.Command, b compose.Backend, project string, services []string) ([]*container.View, error) {
	vs, err := compose.Containers(cmd.Context(), b, project, "")
	if err != nil {
		return nil, err
	}
	var out []*container.View
	for _, v := range vs {
		if len(services) == 0 || contains(services, v.Config.Labels[compose.LabelService]) {
			out = append(out, v)
		}
	}
	return out, nil
}

func newComposeLifecycleCommand(g *globals, lo *compose.LoadOptions, verb string) *cobra.Command {
	var timeout int
	var signal string
	var force, volumes bool
	short := map[string]string{"start": "Start services", "stop": "Stop services", "restart": "Restart service containers",
		"kill": "Force stop service containers", "rm": "Removes stopped service containers"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " [OPTIONS] [SERVICE...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := selected(cmd, b, name, args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var errs []error
			for _, v := range vs {
				var err error
				switch verb {
				case "start":
					if v.State.Status != container.StatusRunning {
						var att *container.Attachment
						if _, att, err = b.Containers.Start(ctx, v.ID); err == nil {
							att.Close()
						}
					}
				case "stop":
					err = b.Containers.Stop(ctx, v.ID, time.Duration(timeout)*time.Second, 0)
				case "restart":
					if err = b.Containers.Stop(ctx, v.ID, time.Duration(timeout)*time.Second, 0); err == nil {
						var att *container.Attachment
						if _, att, err = b.Containers.Start(ctx, v.ID); err == nil {
							att.Close()
						}
					}
				case "kill":
					sig, serr := parseSignal(signal)
					if serr != nil {
						return serr
					}
					_, err = b.Containers.Kill(ctx, v.ID, sig)
				case "rm":
					if v.State.Status == container.StatusRunning && !force {
						continue // Docker Compose removes stopped containers only
					}
					_, err = b.Containers.Remove(ctx, v.ID, force, volumes)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.streams.Err, " Container %s  %s\n", v.Name, map[string]string{"start": "Started", "stop": "Stopped", "restart": "Restarted", "kill": "Killed", "rm": "Removed"}[verb])
			}
			return errors.Join(errs...)
		},
	}
	switch verb {
	case "stop", "restart":
		cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	case "kill":
		cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "SIGNAL to send to the container")
	case "rm":
		cmd.Flags().BoolVarP(&force, "force", "f", false, "Don't ask to confirm removal (and remove running containers)")
		cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove any anonymous volumes attached to containers")
		cmd.Flags().BoolP("stop", "s", false, "Stop the containers, if required, before removing")
	}
	return cmd
}

func newComposeLogsCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var follow, timestamps, noColor bool
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := selected(cmd, b, name, args)
			if err != nil {
				return err
			}
			n := -1
			if tail != "all" && tail != "" {
				if n, err = strconv.Atoi(tail); err != nil {
					return usageError{fmt.Errorf("invalid tail value %q", tail)}
				}
			}
			return composeLogs(cmd.Context(), g, b, vs, n, follow, timestamps, !noColor && isTerminal(g.streams.Out))
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&noColor, "no-color", false, "Produce monochrome output")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	return cmd
}

// composeLogs prints the containers' logs interleaved by time, each line
// prefixed with its container's name (coloured on a terminal), and with
// follow keeps printing until every container has stopped or ctx is done.
func composeLogs(ctx context.Context, g *globals, b compose.Backend, vs []*container.View, tail int, follow, timestamps, color bool) error {
	width := 0
	for _, v := range vs {
		width = max(width, len(v.Name))
	}
	colors := []string{"36", "33", "32", "35", "34", "31"}
	type source struct {
		v      *container.View
		f      *os.File
		prefix string
	}
	var srcs []*source
	var entries []struct {
		monitor.LogEntry
		prefix string
	}
	for i, v := range vs {
		prefix := fmt.Sprintf("%-*s | ", width, v.Name)
		if color {
			prefix = "\x1b[" + colors[i%len(colors)] + "m" + prefix + "\x1b[0m"
		}
		f, err := os.Open(b.Containers.LogPath(v.ID))
		if err != nil {
			continue
		}
		defer f.Close()
		var mine []monitor.LogEntry
		monitor.ReadLog(f, func(e monitor.LogEntry) error { mine = append(mine, e); return nil })
		if tail >= 0 && len(mine) > tail {
			mine = mine[len(mine)-tail:]
		}
		for _, e := range mine {
			entries = append(entries, struct {
				monitor.LogEntry
				prefix string
			}{e, prefix})
		}
		srcs = append(srcs, &source{v: v, f: f, prefix: prefix})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Time.Before(entries[j].Time) })
	print := func(prefix string, e monitor.LogEntry) {
		line := e.Log
		if timestamps {
			line = e.Time.Format(time.RFC3339Nano) + " " + line
		}
		io.WriteString(g.streams.Out, prefix+line)
	}
	for _, e := range entries {
		print(e.prefix, e.LogEntry)
	}
	if !follow {
		return nil
	}
	for {
		live := false
		for _, s := range srcs {
			data, _ := io.ReadAll(s.f)
			if len(data) > 0 {
				monitor.ReadLog(bytes.NewReader(data), func(e monitor.LogEntry) error { print(s.prefix, e); return nil })
			}
			if cur, err := b.Containers.Get(ctx, s.v.ID); err == nil && (cur.State.Status == container.StatusRunning || cur.State.Status == container.StatusRestarting) {
				live = true
			}
		}
		if !live {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func newComposePullCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			p, err := compose.Load(cmd.Context(), *lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range p.ServiceNames() {
				if len(args) > 0 && !contains(args, name) {
					continue
				}
				ref := p.Services[name].Image
				if _, _, err := e.Pull(cmd.Context(), ref, flags, image.PullOptions{}); err != nil {
					errs = append(errs, fmt.Errorf("service %s: %w", name, err))
					continue
				}
				fmt.Fprintf(g.streams.Err, " %s Pulled\n", name)
			}
			return errors.Join(errs...)
		},
	}
	rf.add(cmd.Flags())
	return cmd
}

func newComposePortCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var index int
	var proto string
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public port for a port binding",
		Args:  exactArgs(2, "SERVICE PRIVATE_PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := compose.Containers(cmd.Context(), b, name, args[0])
			if err != nil {
				return err
			}
			for _, v := range vs {
				if v.Config.Labels[compose.LabelNumber] != strconv.Itoa(index) {
					continue
				}
				for _, p := range v.NetworkSettings.Ports {
					if strconv.Itoa(int(p.ContainerPort)) == args[1] && p.Proto == proto {
						host := "0.0.0.0"
						if p.HostIP.IsValid() {
							host = p.HostIP.String()
						}
						fmt.Fprintf(g.streams.Out, "%s:%d\n", host, p.HostPort)
						return nil
					}
				}
			}
			return errdefs.New(errdefs.ErrNotFound, "no port %s/%s for container %s-%s-%d", args[1], proto, name, args[0], index)
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "Index of the container if service has multiple replicas")
	cmd.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	return cmd
}

func newComposeImagesCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List images used by the created containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := selected(cmd, b, name, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Out, "%-24s %-24s %s\n", "CONTAINER", "REPOSITORY", "IMAGE ID")
			for _, v := range vs {
				fmt.Fprintf(g.streams.Out, "%-24s %-24s %s\n", v.Name, v.Config.Image, v.ImageID.Encoded()[:12])
			}
			return nil
		},
	}
}

func newComposeLsCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrs, err := g.containers(cmd)
			if err != nil {
				return err
			}
			vs, err := ctrs.List(cmd.Context())
			if err != nil {
				return err
			}
			type proj struct {
				states map[string]int
				dir    string
			}
			projects := map[string]*proj{}
			for _, v := range vs {
				p := v.Config.Labels[compose.LabelProject]
				if p == "" {
					continue
				}
				if projects[p] == nil {
					projects[p] = &proj{states: map[string]int{}, dir: v.Config.Labels[compose.LabelWorkingDir]}
				}
				projects[p].states[v.State.Status]++
			}
			names := make([]string, 0, len(projects))
			for n := range projects {
				names = append(names, n)
			}
			sort.Strings(names)
			fmt.Fprintf(g.streams.Out, "%-20s %-20s %s\n", "NAME", "STATUS", "WORKING DIR")
			for _, n := range names {
				p := projects[n]
				if !all && p.states[container.StatusRunning] == 0 {
					continue
				}
				var parts []string
				for _, st := range []string{container.StatusRunning, container.StatusExited, container.StatusCreated, container.StatusPaused, container.StatusRestarting} {
					if c := p.states[st]; c > 0 {
						parts = append(parts, fmt.Sprintf("%s(%d)", st, c))
					}
				}
				fmt.Fprintf(g.streams.Out, "%-20s %-20s %s\n", n, strings.Join(parts, ", "), p.dir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped Compose projects")
	return cmd
}

func newComposeConfigCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "config [OPTIONS]",
		Short: "Parse, resolve and render the Compose file in canonical format",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := compose.Load(cmd.Context(), *lo)
			if err != nil {
				return err
			}
			var out []byte
			switch format {
			case "yaml", "":
				out, err = p.MarshalYAML()
			case "json":
				out, err = p.MarshalJSON()
			default:
				return usageError{fmt.Errorf("unsupported format %q: want yaml or json", format)}
			}
			if err != nil {
				return err
			}
			_, err = g.streams.Out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "yaml", "Format the output: yaml or json")
	return cmd
}

func newComposeUpCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var detach, forceRecreate, noRecreate, removeOrphans, noDeps, wait bool
	var timeout int
	var scale []string
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if wait {
				detach = true
			}
			if forceRecreate && noRecreate {
				return usageError{fmt.Errorf("--force-recreate and --no-recreate are incompatible")}
			}
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			p, err := compose.Load(cmd.Context(), *lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			b, err := e.Compose(cmd.Context(), flags)
			if err != nil {
				return err
			}
			o := compose.UpOptions{Services: args, NoDeps: noDeps, ForceRecreate: forceRecreate, NoRecreate: noRecreate, RemoveOrphans: removeOrphans,
				Timeout: time.Duration(timeout) * time.Second, Wait: wait, Scale: map[string]int{}}
			for _, sc := range scale {
				svc, n, ok := strings.Cut(sc, "=")
				k, err := strconv.Atoi(n)
				if !ok || err != nil || k < 0 {
					return usageError{fmt.Errorf("invalid --scale %q: want SERVICE=NUM", sc)}
				}
				o.Scale[svc] = k
			}
			if err := compose.Up(cmd.Context(), b, p, o); err != nil {
				return err
			}
			vs, err := compose.Containers(cmd.Context(), b, p.Name, "")
			if err != nil {
				return err
			}
			for _, v := range vs {
				fmt.Fprintf(g.streams.Err, " Container %s  Started\n", v.Name)
			}
			if detach {
				return nil
			}
			// Attached: the logs until the containers stop or the user
			// interrupts; then they are stopped, as Docker Compose does.
			composeLogs(cmd.Context(), g, b, vs, -1, true, false, isTerminal(g.streams.Out))
			if cmd.Context().Err() != nil {
				fmt.Fprintln(g.streams.Err, "Gracefully stopping... (press Ctrl+C again to force)")
				for _, v := range vs {
					b.Containers.Stop(context.Background(), v.ID, 10*time.Second, 0)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&detach, "detach", "d", false, "Detached mode: Run containers in the background")
	f.BoolVar(&forceRecreate, "force-recreate", false, "Recreate containers even if their configuration hasn't changed")
	f.BoolVar(&noRecreate, "no-recreate", false, "If containers already exist, don't recreate them")
	f.IntVar(&timeout, "wait-timeout", 120, "Maximum duration in seconds to wait for a depends_on condition or --wait")
	f.BoolVar(&removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVar(&wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode.")
	f.StringArrayVar(&scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the scale setting in the Compose file if present.")
	rf.add(f)
	return cmd
}

func newComposeDownCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var volumes, removeOrphans bool
	var timeout int
	var rmi string
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove containers, networks",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rmi != "" && rmi != "all" && rmi != "local" {
				return usageError{fmt.Errorf("invalid --rmi %q: want local or all", rmi)}
			}
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			_ = removeOrphans // down removes every container of the project, orphans included
			return compose.Down(cmd.Context(), b, name, compose.DownOptions{Volumes: volumes, Timeout: time.Duration(timeout) * time.Second, RemoveImages: rmi})
		},
	}
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
	cmd.Flags().StringVar(&rmi, "rmi", "", `Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")`)
	cmd.Flags().BoolVar(&removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file (down always does)")
	return cmd
}

// projectName is -p, or the project's name from its files.
func projectName(cmd *cobra.Command, lo *compose.LoadOptions) (string, error) {
	if lo.ProjectName != "" {
		return lo.ProjectName, nil
	}
	if n := os.Getenv("COMPOSE_PROJECT_NAME"); n != "" {
		return n, nil
	}
	p, err := compose.Load(cmd.Context(), *lo)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

type composePsRow struct {
	Name, Image, Command, Service, CreatedAt, Status, Ports, State string
}

func newComposePsCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var all, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := compose.Containers(cmd.Context(), b, name, "")
			if err != nil {
				return err
			}
			var rows []composePsRow
			for _, v := range vs {
				svc := v.Config.Labels[compose.LabelService]
				if len(args) > 0 && !contains(args, svc) {
					continue
				}
				if !all && v.State.Status != "running" && v.State.Status != "restarting" && v.State.Status != "paused" {
					continue
				}
				if quiet {
					fmt.Fprintln(g.streams.Out, v.ID)
					continue
				}
				r := toPsRow(v, false)
				rows = append(rows, composePsRow{Name: v.Name, Image: r.Image, Command: r.Command, Service: svc, CreatedAt: r.RunningFor, Status: r.Status, Ports: r.Ports, State: v.State.Status})
			}
			if quiet {
				return nil
			}
			return writeRows(g.streams.Out, format, "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.CreatedAt}}\t{{.Status}}\t{{.Ports}}", map[string]string{"CreatedAt": "CREATED"}, rows)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped containers")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	cmd.Flags().StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// newComposeExecCommand is `compose exec`: `exec` in the service's
// container (--index), with a terminal by default, as docker compose does
// (-T turns it off).
func newComposeExecCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	return &cobra.Command{
		Use:                "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short:              "Execute a command in a running container",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			valued := map[string]bool{"-e": true, "--env": true, "-u": true, "--user": true, "-w": true, "--workdir": true, "--index": true}
			var pass []string
			index, tty, service := "1", true, ""
			var rest []string
			for i := 0; i < len(args); i++ {
				a := args[i]
				if !strings.HasPrefix(a, "-") {
					service, rest = a, args[i+1:]
					break
				}
				name, val, hasVal := strings.Cut(a, "=")
				switch {
				case a == "-T" || a == "--no-TTY" || a == "--no-tty":
					tty = false
				case a == "--help" || a == "-h":
					return cmd.Help()
				case name == "--index":
					if !hasVal && i+1 < len(args) {
						i++
						val = args[i]
					}
					index = val
				case a == "--privileged":
					return errdefs.New(errdefs.ErrNotImplemented, "compose exec --privileged is not supported by berth yet")
				case valued[name]:
					pass = append(pass, name)
					if hasVal {
						pass = append(pass, val)
					} else if i+1 < len(args) {
						i++
						pass = append(pass, args[i])
					}
				default:
					pass = append(pass, a)
				}
			}
			if service == "" || len(rest) == 0 {
				return usageError{fmt.Errorf("compose exec requires a SERVICE and a COMMAND")}
			}
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := compose.Containers(cmd.Context(), b, name, service)
			if err != nil {
				return err
			}
			var target string
			for _, v := range vs {
				if v.Config.Labels[compose.LabelNumber] == index {
					target = v.ID
				}
			}
			if target == "" {
				return errdefs.New(errdefs.ErrNotFound, "service %q is not running container #%s", service, index)
			}
			if f, ok := g.streams.In.(*os.File); ok && isTerminal(f) && tty {
				pass = append(pass, "-i", "-t")
			} else {
				pass = append(pass, "-i")
			}
			inner := newExecCommand(g)
			inner.SetContext(cmd.Context())
			if err := inner.ParseFlags(pass); err != nil {
				return usageError{err}
			}
			return inner.RunE(inner, append([]string{target}, rest...))
		},
	}
}

// newComposeTopCommand is `compose top`: `top` of each container.
func newComposeTopCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICES...]",
		Short: "Display the running processes",
		RunE: func(cmd *cobra.Command, args []string) error {
			b, name, err := composeBackend(cmd, g, lo)
			if err != nil {
				return err
			}
			vs, err := selected(cmd, b, name, args)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if v.State.Status != container.StatusRunning {
					continue
				}
				fmt.Fprintln(g.streams.Out, v.Name)
				inner := newTopCommand(g)
				inner.SetContext(cmd.Context())
				if err := inner.RunE(inner, []string{v.ID}); err != nil {
					return err
				}
				fmt.Fprintln(g.streams.Out)
			}
			return nil
		},
	}
}

// newComposeRunCommand is `compose run`: a one-off container of a service,
// attached (a terminal by default when stdin is one).
func newComposeRunCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var rm, detach, noDeps, noTTY, servicePorts bool
	var env []string
	var name, entrypoint, user, workdir string
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Args:  minArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			p, err := compose.Load(cmd.Context(), *lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			b, err := e.Compose(cmd.Context(), flags)
			if err != nil {
				return err
			}
			in, _ := g.streams.In.(*os.File)
			o := compose.RunOptions{Command: args[1:], Env: env, Name: name, Rm: rm, NoDeps: noDeps, ServicePorts: servicePorts, User: user, WorkingDir: workdir,
				Tty: !noTTY && !detach && in != nil && isTerminal(in)}
			if cmd.Flags().Changed("entrypoint") {
				o.Entrypoint = []string{}
				if entrypoint != "" {
					o.Entrypoint = []string{entrypoint}
				}
			}
			c, err := compose.CreateOneOff(cmd.Context(), b, p, args[0], o)
			if err != nil {
				return err
			}
			v, att, err := b.Containers.Start(cmd.Context(), c.ID)
			if err != nil {
				if rm {
					b.Containers.Remove(context.Background(), c.ID, true, true)
				}
				return runError(err)
			}
			if detach {
				att.Close()
				fmt.Fprintln(g.streams.Out, v.Name)
				return nil
			}
			code, err := attachStreams(g, att, o.Tty, true, !o.Tty)
			if err != nil {
				return runError(err)
			}
			if code != 0 {
				return &StatusError{Status: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&rm, "rm", false, "Automatically remove the container when it exits")
	f.BoolVarP(&detach, "detach", "d", false, "Run container in background and print container name")
	f.BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVarP(&noTTY, "no-TTY", "T", false, "Disable pseudo-TTY allocation")
	f.BoolVarP(&servicePorts, "service-ports", "P", false, "Run command with the service's ports enabled and mapped to the host")
	f.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	f.StringVar(&name, "name", "", "Assign a name to the container")
	f.StringVar(&entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	f.StringVarP(&user, "user", "u", "", "Run as specified username or uid")
	f.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	rf.add(f)
	return cmd
}
