package cli

import (
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/runtime"
)

func newExecCommand(g *globals) *cobra.Command {
	var detach, interactive, tty bool
	var env, envFiles []string
	var user, workdir string
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			envs, err := readEnv(envFiles, env)
			if err != nil {
				return err
			}
			stdio := runtime.Stdio{Terminal: tty}
			if !tty {
				out, _ := g.streams.Out.(*os.File)
				errf, _ := g.streams.Err.(*os.File)
				stdio.Stdout, stdio.Stderr = out, errf
				if interactive {
					stdio.Stdin, _ = g.streams.In.(*os.File)
				}
				if detach {
					stdio.Stdout, stdio.Stderr, stdio.Stdin = nil, nil, nil
				}
			}
			p, err := svc.Exec(cmd.Context(), args[0], container.ExecOptions{Args: args[1:], Env: envs, User: user, WorkingDir: workdir, Tty: tty}, stdio)
			if err != nil {
				return &StatusError{Status: 126, Message: "Error: " + err.Error()}
			}
			if detach {
				return nil
			}
			copied := make(chan struct{})
			if c := p.Console(); c != nil {
				if in, ok := g.streams.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
					if old, err := term.MakeRaw(int(in.Fd())); err == nil {
						defer term.Restore(int(in.Fd()), old)
					}
				}
				if interactive {
					go io.Copy(c, g.streams.In)
				}
				go func() {
					io.Copy(g.streams.Out, c) // ends with EIO once the process's side closes
					close(copied)
				}()
			} else {
				close(copied)
			}
			code, err := p.Wait()
			// Output still in the pty is written before berth exits.
			select {
			case <-copied:
			case <-time.After(2 * time.Second):
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return &StatusError{Status: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	f.BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.StringArrayVarP(&env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	return cmd
}
