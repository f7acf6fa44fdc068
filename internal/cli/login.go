package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/registry"
)

const hubServer = "docker.io"

func newLoginCommand(g *globals) *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long:  "Log in to a registry. Credentials are checked against the registry, then stored where Docker stores them (~/.docker/config.json, or its credential helper).",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host := hubServer
			if len(args) == 1 {
				host = serverHost(args[0])
			}
			if password != "" && passwordStdin {
				return usageError{errors.New("--password and --password-stdin are mutually exclusive")}
			}
			if passwordStdin {
				if user == "" {
					return usageError{errors.New("must provide --username with --password-stdin")}
				}
				b, err := io.ReadAll(g.streams.In)
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(b), "\r\n")
			}
			if password != "" && !passwordStdin {
				fmt.Fprintln(g.streams.Err, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			in := bufio.NewReader(g.streams.In)
			if user == "" {
				fmt.Fprint(g.streams.Out, "Username: ")
				l, _ := in.ReadString('\n')
				user = strings.TrimSpace(l)
			}
			if password == "" {
				fmt.Fprint(g.streams.Out, "Password: ")
				l, _ := in.ReadString('\n')
				password = strings.TrimRight(l, "\r\n")
				fmt.Fprintln(g.streams.Out)
			}
			if user == "" || password == "" {
				return errors.New("username and password are required")
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			ep, err := e.RegistryEndpoint(host)
			if err != nil {
				return err
			}
			a := credential.Auth{Username: user, Password: password}
			if err := registry.Login(cmd.Context(), ep, a); err != nil {
				return err
			}
			store, err := credential.Open("")
			if err != nil {
				return err
			}
			if err := store.Save(host, a); err != nil {
				return err
			}
			if store.SourceFor(host).Kind == credential.KindFile {
				fmt.Fprintf(g.streams.Out, "WARNING! Your password will be stored unencrypted in %s.\n", store.Filename())
			}
			fmt.Fprintln(g.streams.Out, "Login Succeeded")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "Username")
	f.StringVarP(&password, "password", "p", "", "Password")
	f.BoolVar(&passwordStdin, "password-stdin", false, "Take the password from stdin")
	return cmd
}

func newLogoutCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host := hubServer
			if len(args) == 1 {
				host = serverHost(args[0])
			}
			store, err := credential.Open("")
			if err != nil {
				return err
			}
			had, err := store.Erase(host)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(g.streams.Out, "Not logged in to %s\n", host)
				return nil
			}
			fmt.Fprintf(g.streams.Out, "Removing login credentials for %s\n", host)
			return nil
		},
	}
}

// serverHost accepts what `docker login` accepts: a host[:port] or a URL.
func serverHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "index.docker.io", "registry-1.docker.io":
		return hubServer
	}
	return s
}
