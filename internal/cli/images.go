package cli

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/reference"
)

// imageRow is one line of `berth images`, with Docker's field names.
type imageRow struct {
	Repository   string
	Tag          string
	Digest       string
	ID           string
	CreatedSince string
	CreatedAt    string
	Size         string
	Containers   string
}

var imageHeaders = map[string]string{"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS"}

func newImagesCommand(g *globals) *cobra.Command {
	var (
		all, quiet, digests, noTrunc bool
		format                       string
		filters                      []string
	)
	cmd := &cobra.Command{
		Use:     "images [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			list, err := svc.List()
			if err != nil {
				return err
			}
			flt, err := parseImageFilters(filters, args)
			if err != nil {
				return err
			}
			var rows []imageRow
			seen := map[string]bool{}
			for _, sum := range list {
				for _, r := range rowsOf(sum, noTrunc) {
					if !flt.match(sum, r) {
						continue
					}
					if quiet {
						if seen[r.ID] {
							continue
						}
						seen[r.ID] = true
					}
					rows = append(rows, r)
				}
			}
			if quiet {
				for _, r := range rows {
					fmt.Fprintln(g.streams.Out, r.ID)
				}
				return nil
			}
			def := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			if digests {
				def = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
			}
			return writeRows(g.streams.Out, format, def, imageHeaders, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Show all images (berth keeps no intermediate images, so this changes nothing)")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&digests, "digests", false, "Show digests")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&format, "format", "", `Format output: "table", "json" or a Go template`)
	f.StringArrayVarP(&filters, "filter", "f", nil, "Filter output (dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE)")
	return cmd
}

// rowsOf is Docker's rows for one image: one per tag (with the digest of
// the same repository), a <none> tag per digest-only repository, or a single
// <none>:<none> row for a dangling image.
func rowsOf(sum image.Summary, noTrunc bool) []imageRow {
	id := sum.Image.ID.String()
	if !noTrunc {
		id = strings.TrimPrefix(id, "sha256:")[:12]
	}
	var created time.Time
	if sum.Config.Created != nil {
		created = *sum.Config.Created
	}
	base := imageRow{ID: id, CreatedSince: since(created), CreatedAt: created.Format("2006-01-02 15:04:05 -0700 MST"), Size: humanSize(sum.Image.Size), Containers: "N/A", Digest: "<none>", Tag: "<none>", Repository: "<none>"}
	digestOf := map[string]string{}
	for _, d := range sum.Digests {
		digestOf[familiarRepo(d)] = string(d.Digest())
	}
	var rows []imageRow
	tagged := map[string]bool{}
	for _, t := range sum.Tags {
		r := base
		r.Repository, r.Tag = familiarRepo(t), t.Tag()
		if d, ok := digestOf[r.Repository]; ok {
			r.Digest = d
		}
		tagged[r.Repository] = true
		rows = append(rows, r)
	}
	for repo, d := range digestOf {
		if !tagged[repo] {
			r := base
			r.Repository, r.Digest = repo, d
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		rows = append(rows, base)
	}
	return rows
}

// familiarRepo is the repository of r as Docker shows it: busybox, team/app,
// localhost:5000/app.
func familiarRepo(r reference.Reference) string {
	f := r.Familiar()
	if i := strings.IndexByte(f, '@'); i >= 0 {
		return f[:i]
	}
	if i := strings.LastIndexByte(f, ':'); i > strings.LastIndexByte(f, '/') {
		return f[:i]
	}
	return f
}

type imageFilter struct {
	dangling      *bool
	refs          []string
	labels        []string
	before, since *time.Time
}

func parseImageFilters(filters, args []string) (*imageFilter, error) {
	f := &imageFilter{refs: args}
	for _, s := range filters {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, usageError{fmt.Errorf("bad format of filter (expected name=value): %s", s)}
		}
		switch k {
		case "dangling":
			b := v == "true" || v == "1"
			if !b && v != "false" && v != "0" {
				return nil, usageError{fmt.Errorf("invalid filter 'dangling=%s'", v)}
			}
			f.dangling = &b
		case "reference":
			f.refs = append(f.refs, v)
		case "label":
			f.labels = append(f.labels, v)
		case "before", "since":
			// resolved by match against the image list
			return nil, usageError{fmt.Errorf("filter %q is not supported yet", k)}
		default:
			return nil, usageError{fmt.Errorf("invalid filter '%s'", k)}
		}
	}
	return f, nil
}

func (f *imageFilter) match(sum image.Summary, r imageRow) bool {
	if f.dangling != nil && *f.dangling != (r.Tag == "<none>" && r.Repository == "<none>") {
		return false
	}
	for _, l := range f.labels {
		k, v, hasV := strings.Cut(l, "=")
		got, ok := sum.Config.Config.Labels[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	if len(f.refs) > 0 {
		ok := false
		for _, pat := range f.refs {
			name := r.Repository
			if r.Tag != "<none>" && strings.Contains(pat, ":") {
				name += ":" + r.Tag
			}
			if m, _ := path.Match(pat, name); m {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
