package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/network"
)

func newNetworkCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g), newNetworkRmCommand(g), newNetworkPruneCommand(g),
		newNetworkConnectCommand(g), newNetworkDisconnectCommand(g))
	return cmd
}

func newNetworkConnectCommand(g *globals) *cobra.Command {
	var ip string
	var aliases []string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2, "NETWORK CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var addr netip.Addr
			if ip != "" {
				a, err := netip.ParseAddr(ip)
				if err != nil || !a.Is4() {
					return usageError{fmt.Errorf("invalid IPv4 address: %s", ip)}
				}
				addr = a
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return svc.Connect(cmd.Context(), args[0], args[1], addr, aliases)
		},
	}
	cmd.Flags().StringVar(&ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	cmd.Flags().StringArrayVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	return cmd
}

func newNetworkDisconnectCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2, "NETWORK CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return svc.Disconnect(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

func (g *globals) networks(cmd *cobra.Command) (*network.Store, error) {
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, err
	}
	return e.Networks(cmd.Context())
}

func newNetworkCreateCommand(g *globals) *cobra.Command {
	var driver, subnet, gateway, ipRange string
	var internal, ipv6, attachable bool
	var labels, opts []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1, "NETWORK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return errdefs.New(errdefs.ErrNotImplemented, "network driver %q: berth has only the bridge driver", driver)
			}
			if ipv6 {
				return errdefs.New(errdefs.ErrNotImplemented, "IPv6 networks are not supported by berth yet")
			}
			var o network.CreateOptions
			var err error
			if subnet != "" {
				if o.Subnet, err = netip.ParsePrefix(subnet); err != nil {
					return usageError{fmt.Errorf("invalid subnet %s: %v", subnet, err)}
				}
			}
			if gateway != "" {
				if o.Gateway, err = netip.ParseAddr(gateway); err != nil {
					return usageError{fmt.Errorf("invalid gateway %s: %v", gateway, err)}
				}
				if subnet == "" {
					return usageError{errors.New("every ip-range or gateway must have a corresponding subnet")}
				}
			}
			if ipRange != "" {
				if o.IPRange, err = netip.ParsePrefix(ipRange); err != nil {
					return usageError{fmt.Errorf("invalid ip-range %s: %v", ipRange, err)}
				}
				if subnet == "" {
					return usageError{errors.New("every ip-range or gateway must have a corresponding subnet")}
				}
			}
			o.Internal = internal
			if o.Labels, err = keyValues("--label", labels); err != nil {
				return err
			}
			if o.Options, err = keyValues("--opt", opts); err != nil {
				return err
			}
			ns, err := g.networks(cmd)
			if err != nil {
				return err
			}
			n, err := ns.Create(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, n.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringVar(&subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	f.StringVar(&gateway, "gateway", "", "IPv4 Gateway for the master subnet")
	f.StringVar(&ipRange, "ip-range", "", "Allocate container ip from a sub-range")
	f.BoolVar(&internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&ipv6, "ipv6", false, "Enable IPv6 networking")
	f.BoolVar(&attachable, "attachable", false, "Accepted for compatibility (every berth network is)")
	f.StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	f.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	return cmd
}

type networkRow struct {
	ID, Name, Driver, Scope, Internal, Labels, CreatedAt string
}

func newNetworkLsCommand(g *globals) *cobra.Command {
	var quiet, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := g.networks(cmd)
			if err != nil {
				return err
			}
			if _, err := ns.Default(cmd.Context()); err != nil {
				return err
			}
			all, err := ns.List()
			if err != nil {
				return err
			}
			var rows []networkRow
			for _, n := range all {
				ok, err := networkMatches(n, filters)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				id := n.ID
				if !noTrunc {
					id = id[:12]
				}
				if quiet {
					fmt.Fprintln(g.streams.Out, id)
					continue
				}
				var ls []string
				for k, v := range n.Labels {
					ls = append(ls, k+"="+v)
				}
				rows = append(rows, networkRow{ID: id, Name: n.Name, Driver: n.Driver, Scope: n.Scope, Internal: fmt.Sprint(n.Internal), Labels: strings.Join(ls, ","), CreatedAt: n.Created.Format(time.RFC3339)})
			}
			if quiet {
				return nil
			}
			return writeRows(g.streams.Out, format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", map[string]string{"ID": "NETWORK ID"}, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	f.StringArrayVarP(&filters, "filter", "f", nil, "Provide filter values (name=…, id=…, label=…, driver=bridge, type=custom|builtin)")
	return cmd
}

func networkMatches(n *network.Network, filters []string) (bool, error) {
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return false, usageError{fmt.Errorf("bad format of filter (expected name=value): %s", f)}
		}
		switch k {
		case "name":
			if !strings.Contains(n.Name, v) {
				return false, nil
			}
		case "id":
			if !strings.HasPrefix(n.ID, v) {
				return false, nil
			}
		case "driver":
			if n.Driver != v {
				return false, nil
			}
		case "type":
			if (v == "custom") != n.UserDefined() {
				return false, nil
			}
		case "label":
			lk, lv, hasV := strings.Cut(v, "=")
			got, present := n.Labels[lk]
			if !present || (hasV && got != lv) {
				return false, nil
			}
		default:
			return false, usageError{fmt.Errorf("invalid filter '%s'", k)}
		}
	}
	return true, nil
}

// networkView is `network inspect`'s shape (Docker's main fields).
type networkView struct {
	Name       string                     `json:"Name"`
	ID         string                     `json:"Id"`
	Created    time.Time                  `json:"Created"`
	Scope      string                     `json:"Scope"`
	Driver     string                     `json:"Driver"`
	EnableIPv6 bool                       `json:"EnableIPv6"`
	IPAM       map[string]any             `json:"IPAM"`
	Internal   bool                       `json:"Internal"`
	Containers map[string]networkEndpoint `json:"Containers"`
	Options    map[string]string          `json:"Options"`
	Labels     map[string]string          `json:"Labels"`
}

type networkEndpoint struct {
	Name        string `json:"Name"`
	IPv4Address string `json:"IPv4Address"`
	MacAddress  string `json:"MacAddress"`
}

func newNetworkInspectCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1, "NETWORK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := g.networks(cmd)
			if err != nil {
				return err
			}
			var out []networkView
			var errs []error
			for _, a := range args {
				if a == network.DefaultName {
					ns.Default(cmd.Context())
				}
				n, err := ns.Get(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				eps, _ := ns.Endpoints(n)
				v := networkView{Name: n.Name, ID: n.ID, Created: n.Created, Scope: n.Scope, Driver: n.Driver, Internal: n.Internal,
					Options: map[string]string{"com.docker.network.bridge.name": n.Bridge}, Labels: n.Labels, Containers: map[string]networkEndpoint{}}
				cfg := map[string]string{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}
				if n.IPRange.IsValid() {
					cfg["IPRange"] = n.IPRange.String()
				}
				v.IPAM = map[string]any{"Driver": "default", "Config": []map[string]string{cfg}}
				for id, ep := range eps {
					v.Containers[id] = networkEndpoint{Name: ep.Name, IPv4Address: netip.PrefixFrom(ep.IP, n.Subnet.Bits()).String(), MacAddress: network.MAC(ep.IP).String()}
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

func newNetworkRmCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    minArgs(1, "NETWORK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			return forEach(g, args, func(a string) error {
				err := svc.RemoveNetwork(cmd.Context(), a)
				if force && errdefs.IsNotFound(err) {
					return nil
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

func newNetworkPruneCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && !confirm(g, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			ns, err := e.Networks(cmd.Context())
			if err != nil {
				return err
			}
			svc, err := e.Containers(cmd.Context())
			if err != nil {
				return err
			}
			all, err := ns.List()
			if err != nil {
				return err
			}
			var removed []string
			var errs []error
			for _, n := range all {
				if !n.UserDefined() {
					continue
				}
				if users, err := svc.NetworkUsers(n); err != nil || len(users) > 0 {
					continue
				}
				if err := svc.RemoveNetwork(cmd.Context(), n.ID); err != nil {
					errs = append(errs, err)
					continue
				}
				removed = append(removed, n.Name)
			}
			if len(removed) > 0 {
				fmt.Fprintln(g.streams.Out, "Deleted Networks:")
				for _, n := range removed {
					fmt.Fprintln(g.streams.Out, n)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func newPortCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			v, err := svc.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var want string
			if len(args) == 2 {
				want = args[1]
				if !strings.Contains(want, "/") {
					want += "/tcp"
				}
			}
			found := false
			for _, b := range v.NetworkSettings.Ports {
				key := fmt.Sprintf("%d/%s", b.ContainerPort, b.Proto)
				host := "0.0.0.0"
				if b.HostIP.IsValid() {
					host = b.HostIP.String()
				}
				switch {
				case want == "":
					fmt.Fprintf(g.streams.Out, "%s -> %s:%d\n", key, host, b.HostPort)
				case want == key:
					fmt.Fprintf(g.streams.Out, "%s:%d\n", host, b.HostPort)
					found = true
				}
			}
			if want != "" && !found {
				return errdefs.New(errdefs.ErrNotFound, "no public port '%s' published for %s", want, v.Name)
			}
			return nil
		},
	}
}
