package image

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/reference"
)

// Resolve finds the image a user means by s: a reference (busybox,
// name:tag, name@digest), a full image ID, or a unique ID prefix, in
// Docker's order. It returns the image and, when s was a reference, the
// normalised reference.
func (s *Service) Resolve(input string) (*Image, reference.Reference, error) {
	refs, err := s.store.References()
	if err != nil {
		return nil, reference.Reference{}, err
	}
	if r, perr := reference.Parse(input); perr == nil {
		if id, ok := refs[r.String()]; ok {
			img, err := s.store.Get(id)
			return img, r, err
		}
		if r.Digest() != "" {
			// name@digest also finds the image by its manifest digest.
			for ref, id := range refs {
				if repoOf(ref) == r.Name() {
					if img, err := s.store.Get(id); err == nil && (img.ManifestDigest == r.Digest() || img.IndexDigest == r.Digest()) {
						return img, r, nil
					}
				}
			}
		}
	}
	hex := strings.TrimPrefix(input, "sha256:")
	if hex != "" && isHex(hex) && len(hex) <= 64 {
		imgs, err := s.store.List()
		if err != nil {
			return nil, reference.Reference{}, err
		}
		var found *Image
		for _, img := range imgs {
			if strings.HasPrefix(img.ID.Encoded(), hex) {
				if found != nil {
					return nil, reference.Reference{}, fmt.Errorf("image ID prefix %q matches more than one image: %w", input, errdefs.ErrInvalidArgument)
				}
				found = img
			}
		}
		if found != nil {
			return found, reference.Reference{}, nil
		}
	}
	return nil, reference.Reference{}, errdefs.New(errdefs.ErrNotFound, "No such image: %s", input)
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Config returns the image's config.
func (s *Service) Config(img *Image) (*ocispec.Image, []byte, error) {
	raw, err := s.content.Get(img.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s config: %w", img.ID, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, nil, fmt.Errorf("decode config of %s: %w", img.ID, err)
	}
	return &cfg, raw, nil
}

// Summary is one image with its references, for listing and inspecting.
type Summary struct {
	Image   *Image
	Config  *ocispec.Image
	RawCfg  []byte
	Tags    []reference.Reference // name:tag references
	Digests []reference.Reference // name@digest references
}

// List returns every image with its references.
func (s *Service) List() ([]Summary, error) {
	imgs, err := s.store.List()
	if err != nil {
		return nil, err
	}
	refs, err := s.store.References()
	if err != nil {
		return nil, err
	}
	byID := map[digest.Digest][]reference.Reference{}
	for r, id := range refs {
		if p, err := reference.Parse(r); err == nil {
			byID[id] = append(byID[id], p)
		}
	}
	var out []Summary
	for _, img := range imgs {
		cfg, raw, err := s.Config(img)
		if err != nil {
			return nil, err
		}
		sum := Summary{Image: img, Config: cfg, RawCfg: raw}
		for _, r := range byID[img.ID] {
			if r.Digest() != "" {
				sum.Digests = append(sum.Digests, r)
			} else {
				sum.Tags = append(sum.Tags, r)
			}
		}
		sort.Slice(sum.Tags, func(i, j int) bool { return sum.Tags[i].String() < sum.Tags[j].String() })
		sort.Slice(sum.Digests, func(i, j int) bool { return sum.Digests[i].String() < sum.Digests[j].String() })
		out = append(out, sum)
	}
	sort.SliceStable(out, func(i, j int) bool { return created(out[i]).After(created(out[j])) })
	return out, nil
}

func created(s Summary) time.Time {
	if s.Config.Created != nil {
		return *s.Config.Created
	}
	return s.Image.Created
}

// Summarize returns the Summary of one image.
func (s *Service) Summarize(img *Image) (*Summary, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Image.ID == img.ID {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("image %s: %w", img.ID, errdefs.ErrNotFound)
}

// Tag makes target refer to the image source names.
func (s *Service) Tag(ctx context.Context, source, target string) error {
	img, _, err := s.Resolve(source)
	if err != nil {
		return err
	}
	t, err := reference.Parse(target)
	if err != nil {
		return err
	}
	if t.Digest() != "" {
		return fmt.Errorf("refusing to create a tag with a digest reference: %s: %w", target, errdefs.ErrInvalidArgument)
	}
	lock, err := s.store.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := s.store.Get(img.ID); err != nil {
		return err // removed meanwhile
	}
	return s.store.SetReferences(map[string]digest.Digest{t.String(): img.ID})
}

// HistoryEntry is one step of an image's history.
type HistoryEntry struct {
	ID        string // the image ID for the top entry, else "<missing>"
	Created   time.Time
	CreatedBy string
	Size      int64
	Comment   string
	Empty     bool
}

// History returns the image's history, newest first, with the unpacked size
// of the layer each step made.
func (s *Service) History(img *Image) ([]HistoryEntry, error) {
	cfg, _, err := s.Config(img)
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, len(img.Layers))
	for i, l := range img.Layers {
		if rec, err := s.layers.Get(l.ChainID); err == nil {
			sizes[i] = rec.Size
		}
	}
	var out []HistoryEntry
	li := 0
	for _, h := range cfg.History {
		e := HistoryEntry{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Empty: h.EmptyLayer}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && li < len(sizes) {
			e.Size = sizes[li]
			li++
		}
		out = append(out, e)
	}
	if len(cfg.History) == 0 { // no history: one entry per layer
		for i := range img.Layers {
			out = append(out, HistoryEntry{ID: "<missing>", Size: sizes[i]})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = img.ID.String()
	}
	return out, nil
}
