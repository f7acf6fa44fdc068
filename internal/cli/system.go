package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/container"
)

func newSystemCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage berth",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSystemDfCommand(g), newInfoCommand(g), newSystemPruneCommand(g))
	return cmd
}

func newSystemPruneCommand(g *globals) *cobra.Command {
	var all, force, volumes bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				warn := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
				if volumes {
					warn += "  - all anonymous volumes not used by at least one container\n"
				}
				if all {
					warn += "  - all images without at least one container associated to them\n"
				} else {
					warn += "  - all dangling images\n"
				}
				if !confirm(g, warn) {
					return nil
				}
			}
			ctx := cmd.Context()
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			ctrs, err := e.Containers(ctx)
			if err != nil {
				return err
			}
			imgs, err := e.Images(ctx)
			if err != nil {
				return err
			}
			var errs []error
			out := g.streams.Out
			views, err := ctrs.List(ctx)
			if err != nil {
				return err
			}
			var removed []string
			var reclaimed int64 // containers' writable layers and volumes', then images'
			for _, v := range views {
				switch v.State.Status {
				case container.StatusExited, container.StatusCreated, container.StatusDead:
					size, _ := ctrs.SizeRw(ctx, v.ID)
					if id, err := ctrs.Remove(ctx, v.ID, false, false); err == nil {
						removed = append(removed, id)
						reclaimed += size
					} else {
						errs = append(errs, err)
					}
				}
			}
			if len(removed) > 0 {
				fmt.Fprintln(out, "Deleted Containers:")
				for _, id := range removed {
					fmt.Fprintln(out, id)
				}
				fmt.Fprintln(out)
			}
			// Leftovers of killed monitors: rules, veths, namespaces.
			errs = append(errs, ctrs.Reconcile(ctx))
			if ns, err := e.Networks(ctx); err == nil {
				nets, _ := ns.List()
				var gone []string
				for _, n := range nets {
					if users, err := ctrs.NetworkUsers(n); err == nil && len(users) == 0 && n.UserDefined() {
						if err := ctrs.RemoveNetwork(ctx, n.ID); err != nil {
							errs = append(errs, err)
							continue
						}
						gone = append(gone, n.Name)
					}
				}
				if len(gone) > 0 {
					fmt.Fprintln(out, "Deleted Networks:")
					for _, n := range gone {
						fmt.Fprintln(out, n)
					}
					fmt.Fprintln(out)
				}
			}
			if volumes {
				vols, size, err := ctrs.PruneVolumes(ctx, false)
				errs = append(errs, err)
				reclaimed += size
				if len(vols) > 0 {
					fmt.Fprintln(out, "Deleted Volumes:")
					for _, v := range vols {
						fmt.Fprintln(out, v.Name)
					}
					fmt.Fprintln(out)
				}
			}
			res, err := imgs.Prune(ctx, all, ctrs.UsesImage)
			if err != nil {
				errs = append(errs, err)
			} else {
				if len(res.Removed) > 0 {
					fmt.Fprintln(out, "Deleted Images:")
					for _, r := range res.Removed {
						for _, u := range r.Untagged {
							fmt.Fprintf(out, "untagged: %s\n", u)
						}
						for _, d := range r.Deleted {
							fmt.Fprintf(out, "deleted: %s\n", d)
						}
					}
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "Total reclaimed space: %s\n", humanSize(reclaimed+res.Reclaimed))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().BoolVar(&volumes, "volumes", false, "Prune anonymous volumes")
	return cmd
}
