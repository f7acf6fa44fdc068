package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/image"
)

// inspectImage is Docker's `image inspect` shape, plus berth's provenance.
type inspectImage struct {
	ID            string            `json:"Id"`
	RepoTags      []string          `json:"RepoTags"`
	RepoDigests   []string          `json:"RepoDigests"`
	Parent        string            `json:"Parent"`
	Comment       string            `json:"Comment"`
	Created       string            `json:"Created"`
	DockerVersion string            `json:"DockerVersion"`
	Author        string            `json:"Author"`
	Config        json.RawMessage   `json:"Config"`
	Architecture  string            `json:"Architecture"`
	Variant       string            `json:"Variant,omitempty"`
	Os            string            `json:"Os"`
	Size          int64             `json:"Size"`
	GraphDriver   graphDriver       `json:"GraphDriver"`
	RootFS        rootFS            `json:"RootFS"`
	Metadata      map[string]string `json:"Metadata"`
	Source        *image.Source     `json:"BerthSource,omitempty"`
}

type graphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

type rootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

func newImageInspectCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			var out []inspectImage
			var errs []error
			for _, a := range args {
				img, _, err := svc.Resolve(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				sum, err := svc.Summarize(img)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, toInspect(svc, sum))
			}
			if err := writeInspect(g.streams.Out, format, out); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a Go template")
	return cmd
}

func toInspect(svc *image.Service, sum *image.Summary) inspectImage {
	var raw struct {
		Config json.RawMessage `json:"config"`
	}
	json.Unmarshal(sum.RawCfg, &raw)
	if raw.Config == nil {
		raw.Config = json.RawMessage("{}")
	}
	c := sum.Config
	o := inspectImage{
		ID: sum.Image.ID.String(), RepoTags: []string{}, RepoDigests: []string{},
		Comment: historyComment(sum), Author: c.Author, Config: raw.Config,
		Architecture: c.Architecture, Variant: c.Variant, Os: c.OS, Size: sum.Image.Size,
		RootFS:   rootFS{Type: "layers"},
		Metadata: map[string]string{"LastTagTime": sum.Image.Created.Format("2006-01-02T15:04:05.999999999Z07:00")},
		Source:   sum.Image.Source,
	}
	if c.Created != nil {
		o.Created = c.Created.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	for _, t := range sum.Tags {
		o.RepoTags = append(o.RepoTags, t.Familiar())
	}
	for _, d := range sum.Digests {
		o.RepoDigests = append(o.RepoDigests, d.Familiar())
	}
	var dirs []string
	for _, l := range sum.Image.Layers {
		o.RootFS.Layers = append(o.RootFS.Layers, l.DiffID.String())
		if rec, err := svc.Layers().Get(l.ChainID); err == nil {
			dirs = append(dirs, svc.Layers().DiffDir(rec))
		}
	}
	// Overlay lists the top layer first.
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	o.GraphDriver = graphDriver{Name: "overlay", Data: map[string]string{"LowerDir": strings.Join(dirs, ":")}}
	return o
}

func historyComment(sum *image.Summary) string {
	if h := sum.Config.History; len(h) > 0 {
		return h[len(h)-1].Comment
	}
	return ""
}

// writeInspect prints inspect results as Docker does: an indented JSON
// list, or the template once per object.
func writeInspect[T any](w io.Writer, format string, out []T) error {
	if format != "" && format != "json" {
		for _, o := range out {
			if err := writeInspectTemplate(w, format, o); err != nil {
				return err
			}
		}
		return nil
	}
	if out == nil {
		out = []T{}
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeInspectTemplate runs an inspect template over the JSON form of v, as
// the docker CLI does, so that {{.Id}} and {{.Config.Cmd}} work.
func writeInspectTemplate(w io.Writer, format string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Numbers stay numbers as written ({{.Size}} is 106840356, not
	// 1.06840356e+08).
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	_, err = writeFormatted(w, format, typedNumbers(m))
	return err
}

// typedNumbers turns the JSON numbers in v into int64 (or float64 when they
// have a fraction), so that templates print and compare them as Docker's
// typed structs do.
func typedNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = typedNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = typedNumbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
	}
	return v
}
