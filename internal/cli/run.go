package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
	"berth.dev/berth/internal/runtime"
)

func newRunCommand(g *globals) *cobra.Command {
	var f containerFlags
	var detach, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDetachKeys(detachKeys); err != nil {
				return usageError{err}
			}
			// Warms the kernel's cgroup attach lock while run works (see
			// runtime.PrimeCgroupAttach).
			go runtime.PrimeCgroupAttach()
			svc, c, opts, pending, err := createContainer(cmd, g, &f, args, true)
			if err != nil {
				return err
			}
			var v *container.View
			var att *container.Attachment
			if pending != nil {
				v, att, err = pending.Start(cmd.Context(), c.ID)
			} else {
				v, att, err = svc.Start(cmd.Context(), c.ID)
			}
			if err != nil {
				if opts.HostConfig.AutoRemove {
					svc.Remove(context.Background(), c.ID, true, true)
				}
				return runError(err)
			}
			if detach {
				att.Close()
				fmt.Fprintln(g.streams.Out, v.ID)
				return nil
			}
			code, err := attachStreams(g, att, opts.Config.Tty, opts.Config.OpenStdin, sigProxy && !opts.Config.Tty)
			if err != nil {
				return runError(err)
			}
			if code != 0 {
				return &StatusError{Status: code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.Bool("help", false, "Print usage")
	f.add(fs)
	fs.BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	fs.BoolVar(&sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	fs.StringVar(&detachKeys, "detach-keys", defaultDetachKeys, "Override the key sequence for detaching a container")
	return cmd
}

func newCreateCommand(g *globals) *cobra.Command {
	var f containerFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, _, _, err := createContainer(cmd, g, &f, args, false)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, c.ID)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.Bool("help", false, "Print usage")
	f.add(fs)
	return cmd
}

// createContainer is what run and create share: parse the flags, pull
// the image as --pull says, create the container. With ahead (run), the
// container's monitor is started before the creation, which its start-up
// then overlaps; pending is nil if that failed (Service.Start starts one).
func createContainer(cmd *cobra.Command, g *globals, f *containerFlags, args []string, ahead bool) (svc *container.Service, c *container.Container, opts container.CreateOptions, pending *container.PendingMonitor, err error) {
	opts, err = f.options(cmd.Flags(), args)
	if err != nil {
		if isUsageError(err) {
			return nil, nil, opts, nil, err
		}
		return nil, nil, opts, nil, runError(err)
	}
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, nil, opts, nil, runError(err)
	}
	svc, err = e.Containers(cmd.Context())
	if err != nil {
		return nil, nil, opts, nil, runError(err)
	}
	if err := ensureImage(cmd.Context(), g, e, f, opts.Image); err != nil {
		return nil, nil, opts, nil, runError(err)
	}
	if ahead {
		pending, _ = svc.SpawnMonitorAhead()
	}
	c, err = svc.Create(cmd.Context(), opts)
	if err != nil {
		if pending != nil {
			pending.Abort()
		}
		return nil, nil, opts, nil, runError(err)
	}
	return svc, c, opts, pending, nil
}

// runError is Docker's way of failing `run`: exit 125 for berth's own
// errors, 126/127 for a command that cannot run.
func runError(err error) error {
	var se *container.StartError
	if errors.As(err, &se) {
		return &StatusError{Status: se.ExitCode, Message: "berth: " + se.Msg}
	}
	var st *StatusError
	if errors.As(err, &st) {
		return err
	}
	return &StatusError{Status: 125, Message: "berth: " + err.Error()}
}

// ensureImage pulls the image as --pull says, printing progress to stderr
// as Docker does for run and create.
func ensureImage(ctx context.Context, g *globals, e *engine.Engine, f *containerFlags, name string) error {
	images, err := e.Images(ctx)
	if err != nil {
		return err
	}
	_, _, rerr := images.Resolve(name)
	switch f.pull {
	case "missing", "":
		if rerr == nil {
			return nil
		}
		if !errdefs.IsNotFound(rerr) {
			return rerr
		}
		fmt.Fprintf(g.streams.Err, "Unable to find image '%s' locally\n", displayRef(name))
	case "always":
	case "never":
		return rerr
	default:
		return usageError{fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", f.pull)}
	}
	flags, err := f.rf.flags()
	if err != nil {
		return err
	}
	opts := image.PullOptions{}
	if f.platform != "" {
		if opts.Platform, err = registry.ParsePlatform(f.platform); err != nil {
			return err
		}
	}
	ref, err := reference.Parse(name)
	if err != nil {
		return err
	}
	_, err = pullImage(ctx, e, g.streams.Err, ref, flags, opts)
	return err
}

func displayRef(name string) string {
	if r, err := reference.Parse(name); err == nil {
		return r.Familiar()
	}
	return name
}

// attachStreams connects the CLI's stdio to an attached container until it
// exits, and returns its exit code.
func attachStreams(g *globals, att *container.Attachment, tty, stdin, sigProxy bool) (int, error) {
	defer att.Close()
	in, _ := g.streams.In.(*os.File)
	if tty && in != nil && term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err == nil {
			defer term.Restore(int(in.Fd()), old)
		}
		resize := func() {
			if w, h, err := term.GetSize(int(in.Fd())); err == nil {
				att.Resize(uint16(h), uint16(w))
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				resize()
			}
		}()
	}
	if sigProxy {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for s := range sigs {
				att.Signal(s.(syscall.Signal))
			}
		}()
	}
	if stdin && g.streams.In != nil {
		go func() {
			buf := make([]byte, 32<<10)
			var prev byte
			for {
				n, err := g.streams.In.Read(buf)
				if n > 0 {
					data := buf[:n]
					if tty {
						// Docker's detach keys: ctrl-p ctrl-q.
						for _, c := range data {
							if prev == 0x10 && c == 0x11 {
								att.Close()
								return
							}
							prev = c
						}
					}
					att.SendStdin(data)
				}
				if err != nil {
					if err == io.EOF {
						att.SendStdin(nil)
					}
					return
				}
			}
		}()
	}
	code, err := att.Stream(g.streams.Out, g.streams.Err)
	if errors.Is(err, container.ErrDetached) {
		return 0, nil
	}
	return code, err
}
