package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/registry"
	"berth.dev/berth/internal/registryconf"
)

func newImageResolveCommand(g *globals) *cobra.Command {
	var format string
	var push bool
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "resolve [OPTIONS] IMAGE",
		Short: "Explain where a pull (or with --push, a push) of IMAGE would go, and why",
		Long: `Explain where a pull of IMAGE would go: the normalised name, the rule that
matched, and every candidate endpoint in the order a pull tries them, with the
reference used there, TLS mode, tag policy and credential source (never the
secret). Nothing is contacted.

With --push, explain where 'berth push IMAGE' would go instead: the one
endpoint (the rule's push endpoint, or the name's own registry) or why the
push is refused. The registry flags are for pulls and do not combine with it.`,
		Args: exactArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			if push && (len(flags.Replace) > 0 || len(flags.Mirrors) > 0) {
				return usageError{errors.New("--push: --replace, --replace-to and --registry-mirror apply to pulls only")}
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			if push {
				plan, rerr := e.ResolvePush(cmd.Context(), args[0])
				if plan == nil {
					return rerr
				}
				if done, err := writeFormatted(g.streams.Out, format, plan); done {
					return errors.Join(rerr, err)
				}
				_, err = fmt.Fprint(g.streams.Out, explainPush(plan))
				return errors.Join(rerr, err)
			}
			plan, rerr := e.ResolveImage(cmd.Context(), args[0], flags)
			if plan == nil {
				return rerr
			}
			if done, err := writeFormatted(g.streams.Out, format, plan); done {
				return errors.Join(rerr, err)
			}
			_, err = fmt.Fprint(g.streams.Out, explain(plan))
			return errors.Join(rerr, err)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", `Format output: "json" or a Go template`)
	cmd.Flags().BoolVar(&push, "push", false, "Explain where a push of IMAGE would go instead of a pull")
	rf.add(cmd.Flags())
	return cmd
}

// explainHeader writes the name and the rule that matched it, the first
// lines of explain and explainPush.
func explainHeader(w func(string, ...any), name, rule string) {
	w("Name:      %s", name)
	if rule == "" {
		w("Rule:      none matches")
	} else {
		w("Rule:      %s", rule)
	}
}

// explain renders a plan for people.
func explain(p *registry.Plan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	explainHeader(w, p.Name.String(), p.Rule)
	if p.Blocked {
		w("Blocked:   yes: a pull of this name fails without contacting any registry")
		return b.String()
	}
	switch {
	case p.OriginContacted && len(p.Endpoints) > 1:
		w("Origin:    %s, contacted last (fallback: origin)", p.Origin)
	case p.OriginContacted:
		w("Origin:    %s, the only endpoint", p.Origin)
	case p.Fallback == "none":
		w("Origin:    %s, never contacted (fallback: none)", p.Origin)
	default:
		w("Origin:    %s, never contacted (the rule rewrites it)", p.Origin)
	}
	w("")
	w("Candidates, in the order a pull tries them:")
	for i, c := range p.Endpoints {
		w("%d. %-8s %s", i+1, c.Role, c.Ref)
		w("   endpoint:     %s (%s)", c.URL, tlsText(c.Candidate))
		w("   tags:         %s", tagText(p, c.Candidate))
		w("   credentials:  %s", c.Credentials)
		w("   from:         %s", c.Rule)
	}
	return b.String()
}

// explainPush renders a push plan for people.
func explainPush(p *registry.PushPlan) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	explainHeader(w, p.Name.String(), p.Rule)
	if p.Refused {
		w("Refused:   yes: %s", p.Reason)
		return b.String()
	}
	if p.OriginContacted {
		w("Origin:    %s, contacted: the push goes there", p.Origin)
	} else {
		w("Origin:    %s, never contacted", p.Origin)
	}
	w("Why:       %s", p.Reason)
	w("")
	w("A push goes to this endpoint only (no fallback):")
	c := p.Endpoint
	w("   %-8s %s", c.Role, c.Ref)
	w("   endpoint:     %s (%s)", c.URL, tlsText(c.Candidate))
	w("   credentials:  %s", c.Credentials)
	w("   from:         %s", c.Rule)
	return b.String()
}

func tlsText(c registryconf.Candidate) string {
	switch c.TLS {
	case registryconf.TLSPlain:
		return "plain HTTP"
	case registryconf.TLSInsecure:
		return "insecure registry: HTTPS without verification, then plain HTTP"
	}
	if c.CADir != "" {
		return "HTTPS, verified with CAs from " + c.CADir
	}
	return "HTTPS, verified with the system CAs"
}

func tagText(p *registry.Plan, c registryconf.Candidate) string {
	switch {
	case p.Name.Digest() != "":
		return "pull by digest: content is verified against " + string(p.Name.Digest())
	case c.DigestOnly:
		return "digest-only: serves content after a later endpoint resolved the tag"
	}
	return "resolves the tag; content is verified by digest"
}

// exactArgs is cobra.ExactArgs with Docker's wording and a usage error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%q requires exactly %d argument (%s).\nSee '%s --help'.\n\nUsage:  %s", cmd.CommandPath(), n, names, cmd.CommandPath(), cmd.UseLine())}
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with Docker's wording and a usage error.
func minArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%q requires at least %d argument (%s).\nSee '%s --help'.\n\nUsage:  %s", cmd.CommandPath(), n, names, cmd.CommandPath(), cmd.UseLine())}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs with Docker's wording and a usage error.
func noArgs() cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("%q accepts no arguments.\nSee '%s --help'.\n\nUsage:  %s", cmd.CommandPath(), cmd.CommandPath(), cmd.UseLine())}
		}
		return nil
	}
}
