package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/compose"
	"berth.dev/berth/internal/errdefs"
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
	pf := cmd.PersistentFlags()
	pf.StringArrayVarP(&lo.Files, "file", "f", nil, "Compose configuration files")
	pf.StringVarP(&lo.ProjectName, "project-name", "p", "", "Project name")
	pf.StringVar(&lo.WorkDir, "project-directory", "", "Specify an alternate working directory (default: the path of the first Compose file)")
	pf.StringArrayVar(&lo.EnvFiles, "env-file", nil, "Specify an alternate environment file")
	pf.StringArrayVar(&lo.Profiles, "profile", nil, "Specify a profile to enable")
	cmd.AddCommand(newComposeConfigCommand(g, &lo), newComposeUpCommand(g, &lo), newComposeDownCommand(g, &lo), newComposePsCommand(g, &lo))
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
	var detach, forceRecreate, noRecreate bool
	var timeout int
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !detach {
				return errdefs.New(errdefs.ErrNotImplemented, "compose up without -d (attached logs) is not supported by berth yet: use up -d, then ps")
			}
			if forceRecreate && noRecreate {
				return usageError{fmt.Errorf("--force-recreate and --no-recreate are incompatible")}
			}
			p, err := compose.Load(cmd.Context(), *lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			b, err := e.Compose(cmd.Context())
			if err != nil {
				return err
			}
			o := compose.UpOptions{Services: args, ForceRecreate: forceRecreate, NoRecreate: noRecreate, Timeout: time.Duration(timeout) * time.Second}
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
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&detach, "detach", "d", false, "Detached mode: Run containers in the background")
	f.BoolVar(&forceRecreate, "force-recreate", false, "Recreate containers even if their configuration hasn't changed")
	f.BoolVar(&noRecreate, "no-recreate", false, "If containers already exist, don't recreate them")
	f.IntVar(&timeout, "wait-timeout", 120, "Maximum duration in seconds to wait for a depends_on condition")
	return cmd
}

func newComposeDownCommand(g *globals, lo *compose.LoadOptions) *cobra.Command {
	var volumes bool
	var timeout int
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove containers, networks",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := projectName(cmd, lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			b, err := e.Compose(cmd.Context())
			if err != nil {
				return err
			}
			return compose.Down(cmd.Context(), b, name, compose.DownOptions{Volumes: volumes, Timeout: time.Duration(timeout) * time.Second})
		},
	}
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 10, "Specify a shutdown timeout in seconds")
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
			name, err := projectName(cmd, lo)
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			b, err := e.Compose(cmd.Context())
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
