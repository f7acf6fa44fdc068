package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newInfoCommand(g *globals) *cobra.Command {
	var format string
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			info, err := e.Info(cmd.Context(), flags)
			if err != nil {
				return err
			}
			if done, err := writeFormatted(g.streams.Out, format, info); done {
				return err
			}
			var b strings.Builder
			p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
			p("Server Version: %s", info.ServerVersion)
			p("Storage Driver: %s (kernel support: %s)", info.Driver, yesNo(info.Overlay))
			p("Cgroup Version: %s", info.CgroupVersion)
			var rts []string
			for _, rt := range info.Runtimes {
				rts = append(rts, fmt.Sprintf("%s (%s, %s)", rt.Name, rt.Path, rt.Version))
			}
			p("Runtimes: %s", strings.Join(rts, ", "))
			p("Default Runtime: %s", info.DefaultRuntime)
			p("Kernel Version: %s", info.Kernel)
			p("Operating System: %s", info.OperatingSystem)
			p("OSType: %s", info.OSType)
			p("Architecture: %s", info.Architecture)
			p("CPUs: %d", info.CPUs)
			p("Total Memory: %.2fGiB", float64(info.MemTotal)/(1<<30))
			p("Berth Root Dir: %s", info.Root)
			p("Berth Run Dir: %s", info.RunRoot)
			if info.ConfigFound {
				p("Config File: %s", info.ConfigFile)
			} else {
				p("Config File: %s (not present: defaults in force)", info.ConfigFile)
			}
			p("Insecure Registries:")
			for _, r := range info.Registry.Insecure {
				p(" %s", r)
			}
			if len(info.Registry.Mirrors) > 0 {
				p("Registry Mirrors:")
				for _, m := range info.Registry.Mirrors {
					p(" %s", m)
				}
			}
			if len(info.Registry.Rules) > 0 {
				p("Registry Rules (flags first; longest prefix wins):")
				for _, r := range info.Registry.Rules {
					p(" %s", r.Prefix)
					switch {
					case r.Blocked:
						p("  blocked (pulls and pushes)")
					default:
						for _, m := range r.Mirrors {
							p("  mirror:   %s%s", m.Location, endpointNotes(m.Insecure, m.CADir, m.DigestOnly))
						}
						tls := endpointNotes(r.Insecure, r.CADir, false)
						switch {
						case r.Fallback == "none":
							p("  then:     nothing (fallback: none)")
						case r.Location != "":
							p("  then:     %s (rewrite)%s", r.Location, tls)
						default:
							p("  then:     the origin%s", tls)
						}
						switch {
						case r.Push != nil:
							p("  push:     %s%s, only there", r.Push.Location, endpointNotes(r.Push.Insecure, r.Push.CADir, false))
						case r.Fallback == "none":
							p("  push:     refused (fallback: none, no push endpoint)")
						case strings.HasPrefix(r.Source, "--"):
							p("  push:     not affected (flags are for pulls)")
						case r.Location != "":
							p("  push:     the origin")
						default:
							p("  push:     the origin%s", tls)
						}
					}
					p("  from:     %s", r.Source)
				}
			}
			for _, w := range info.Registry.Warnings {
				p("WARNING: %s", w)
			}
			_, err = fmt.Fprint(g.streams.Out, b.String())
			return err
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Format output: "json" or a Go template`)
	rf.add(cmd.Flags())
	return cmd
}

// endpointNotes are an endpoint's settings in parentheses, or "".
func endpointNotes(insecure bool, caDir string, digestOnly bool) string {
	var notes []string
	if insecure {
		notes = append(notes, "insecure")
	}
	if caDir != "" {
		notes = append(notes, "ca-dir "+caDir)
	}
	if digestOnly {
		notes = append(notes, "digest-only")
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
