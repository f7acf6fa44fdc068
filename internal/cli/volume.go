package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/volume"
)

func newVolumeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeInspectCommand(g), newVolumeRmCommand(g), newVolumePruneCommand(g))
	return cmd
}

func (g *globals) volumes(cmd *cobra.Command) (*volume.Store, error) {
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, err
	}
	return e.Volumes(cmd.Context())
}

// keyValues parses repeated KEY=VALUE flags.
func keyValues(flag string, list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok && flag == "--opt" {
			return nil, usageError{fmt.Errorf("invalid argument %q for \"%s\" flag: invalid key value pair format in driver options", kv, flag)}
		}
		m[k] = v
	}
	return m, nil
}

func newVolumeCreateCommand(g *globals) *cobra.Command {
	var labels, opts []string
	var driver string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "local" {
				return errdefs.New(errdefs.ErrNotImplemented, "volume driver %q: berth has only the local driver", driver)
			}
			lm, err := keyValues("--label", labels)
			if err != nil {
				return err
			}
			om, err := keyValues("--opt", opts)
			if err != nil {
				return err
			}
			vs, err := g.volumes(cmd)
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			v, err := vs.Create(cmd.Context(), name, volume.CreateOptions{Labels: lm, Options: om})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, v.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&labels, "label", nil, "Set metadata for a volume")
	cmd.Flags().StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options (type, device, o)")
	cmd.Flags().StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
	return cmd
}

// volumeRow is a `volume ls` row.
type volumeRow struct {
	Driver, Name, Mountpoint, Scope, Labels string
	CreatedAt                               string
}

var volumeHeaders = map[string]string{"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE", "Labels": "LABELS", "CreatedAt": "CREATED"}

func newVolumeLsCommand(g *globals) *cobra.Command {
	var quiet bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			vs, err := e.Volumes(cmd.Context())
			if err != nil {
				return err
			}
			ctrs, err := e.Containers(cmd.Context())
			if err != nil {
				return err
			}
			all, err := vs.List()
			if err != nil {
				return err
			}
			var rows []volumeRow
			for _, v := range all {
				ok, err := volumeMatches(v, filters, func() (bool, error) {
					users, err := ctrs.VolumeUsers(v.Name)
					return len(users) == 0, err
				})
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if quiet {
					fmt.Fprintln(g.streams.Out, v.Name)
					continue
				}
				var ls []string
				for k, val := range v.Labels {
					ls = append(ls, k+"="+val)
				}
				rows = append(rows, volumeRow{Driver: v.Driver, Name: v.Name, Mountpoint: v.Mountpoint, Scope: v.Scope, Labels: strings.Join(ls, ","), CreatedAt: v.CreatedAt.Format(time.RFC3339)})
			}
			if quiet {
				return nil
			}
			return writeRows(g.streams.Out, format, "table {{.Driver}}\t{{.Name}}", volumeHeaders, rows)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	cmd.Flags().StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	cmd.Flags().StringArrayVarP(&filters, "filter", "f", nil, "Provide filter values (dangling=true|false, name=…, label=key[=value], driver=local)")
	return cmd
}

// volumeMatches applies `volume ls` filters; dangling asks whether no
// container uses the volume.
func volumeMatches(v *volume.Volume, filters []string, dangling func() (bool, error)) (bool, error) {
	for _, f := range filters {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return false, usageError{fmt.Errorf("bad format of filter (expected name=value): %s", f)}
		}
		switch k {
		case "dangling":
			want := val == "true" || val == "1"
			if !want && val != "false" && val != "0" {
				return false, usageError{fmt.Errorf("invalid filter 'dangling=%s'", val)}
			}
			d, err := dangling()
			if err != nil {
				return false, err
			}
			if d != want {
				return false, nil
			}
		case "name":
			if !strings.Contains(v.Name, val) {
				return false, nil
			}
		case "driver":
			if v.Driver != val {
				return false, nil
			}
		case "label":
			lk, lv, hasValue := strings.Cut(val, "=")
			got, present := v.Labels[lk]
			if !present || (hasValue && got != lv) {
				return false, nil
			}
		default:
			return false, usageError{fmt.Errorf("invalid filter '%s'", k)}
		}
	}
	return true, nil
}

func newVolumeInspectCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1, "VOLUME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := g.volumes(cmd)
			if err != nil {
				return err
			}
			var out []*volume.Volume
			var errs []error
			for _, a := range args {
				v, err := vs.Get(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, v)
			}
			if err := writeInspect(g.streams.Out, format, out); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}

func newVolumeRmCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    minArgs(1, "VOLUME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error {
				err := svc.RemoveVolume(cmd.Context(), a)
				if force && errdefs.IsNotFound(err) {
					return nil
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not fail on volumes that do not exist (volumes in use are still refused)")
	return cmd
}

func newVolumePruneCommand(g *globals) *cobra.Command {
	var force, all bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes (anonymous ones; all unused with -a)",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			warn := "WARNING! This will remove anonymous local volumes not used by at least one container."
			if all {
				warn = "WARNING! This will remove all local volumes not used by at least one container."
			}
			if !force && !confirm(g, warn) {
				return nil
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			removed, reclaimed, err := svc.PruneVolumes(cmd.Context(), all)
			if len(removed) > 0 {
				fmt.Fprintln(g.streams.Out, "Deleted Volumes:")
				for _, v := range removed {
					fmt.Fprintln(g.streams.Out, v.Name)
				}
				fmt.Fprintln(g.streams.Out)
			}
			fmt.Fprintf(g.streams.Out, "Total reclaimed space: %s\n", humanSize(reclaimed))
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	return cmd
}
