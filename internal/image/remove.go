package image

import (
	"context"
	"fmt"
	"sort"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/reference"
)

// RemoveResult lists, as Docker prints them, what a removal did.
type RemoveResult struct {
	Untagged []string // familiar references
	Deleted  []digest.Digest
}

// InUse reports whether a container (running or not) uses an image.
type InUse func(id digest.Digest) bool

// Remove untags or deletes what input names, with Docker's rules: a
// reference is untagged, and the image deleted when no tag is left; an ID
// deletes the image, which must then be referenced by one repository only
// unless force. An image in use is refused unless force.
func (s *Service) Remove(ctx context.Context, input string, force bool, inUse InUse) (*RemoveResult, error) {
	gc, err := lockfile.Acquire(ctx, s.gcLockPath(), lockfile.Exclusive)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()
	lock, err := s.store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()

	img, byRef, err := s.Resolve(input)
	if err != nil {
		return nil, err
	}
	refs, err := s.store.References()
	if err != nil {
		return nil, err
	}
	var mine []string
	for r, id := range refs {
		if id == img.ID {
			mine = append(mine, r)
		}
	}
	sort.Strings(mine)
	res := &RemoveResult{}
	changes := map[string]digest.Digest{}
	untag := func(r string) {
		changes[r] = ""
		if p, err := reference.Parse(r); err == nil {
			res.Untagged = append(res.Untagged, p.Familiar())
		}
	}

	if !byRef.IsZero() && len(mine) > 1 {
		// Untag one reference; keep the image while another tag remains.
		ref := byRef.String()
		if _, ok := refs[ref]; ok {
			untag(ref)
		}
		tagsLeft := 0
		for _, r := range mine {
			if _, gone := changes[r]; !gone && !isDigestRef(r) {
				tagsLeft++
			}
		}
		if tagsLeft > 0 {
			return res, s.store.SetReferences(changes)
		}
	} else if byRef.IsZero() && !force {
		repos := map[string]bool{}
		for _, r := range mine {
			repos[repoOf(r)] = true
		}
		if len(repos) > 1 {
			return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", shortID(img.ID), errdefs.ErrConflict)
		}
	}
	used := inUse != nil && inUse(img.ID)
	if used && !force {
		return nil, errdefs.New(errdefs.ErrConflict, "conflict: unable to delete %s (must be forced) - image is being used by a container", shortID(img.ID))
	}
	for _, r := range mine {
		if _, done := changes[r]; !done {
			untag(r)
		}
	}
	if err := s.store.SetReferences(changes); err != nil {
		return nil, err
	}
	if used {
		// Forced: the names go, but a container still stands on the
		// layers, so the image stays (dangling) until it is removed.
		return res, nil
	}
	if err := s.store.Delete(img.ID); err != nil {
		return nil, err
	}
	res.Deleted = append(res.Deleted, img.ID)
	return res, s.collect(ctx)
}

func isDigestRef(r string) bool {
	for i := 0; i < len(r); i++ {
		if r[i] == '@' {
			return true
		}
	}
	return false
}

// collect removes layers and blobs no image record references. The caller
// holds the GC lock exclusively and the store lock.
func (s *Service) collect(ctx context.Context) error {
	imgs, err := s.store.List()
	if err != nil {
		return err
	}
	chains := map[digest.Digest]bool{}
	blobs := map[digest.Digest]bool{}
	for _, img := range imgs {
		blobs[img.ID], blobs[img.ManifestDigest] = true, true
		if img.IndexDigest != "" {
			blobs[img.IndexDigest] = true
		}
		for _, l := range img.Layers {
			chains[l.ChainID] = true
		}
	}
	layers, err := s.layers.List()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if !chains[l.ChainID] {
			if err := s.layers.Remove(ctx, l.ChainID); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		}
	}
	var drop []digest.Digest
	if err := s.content.Walk(func(d digest.Digest, _ int64) error {
		if !blobs[d] {
			drop = append(drop, d)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, d := range drop {
		if err := s.content.Delete(d); err != nil {
			return err
		}
	}
	return s.layers.Sweep(ctx)
}

// PruneResult is what a prune removed.
type PruneResult struct {
	Removed   []RemoveResult
	Reclaimed int64
}

// Prune removes dangling images (no reference), or with all every image
// not in use.
func (s *Service) Prune(ctx context.Context, all bool, inUse InUse) (*PruneResult, error) {
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	before, err := s.DiskUsage(nil)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{}
	for _, sum := range list {
		dangling := len(sum.Tags) == 0 && len(sum.Digests) == 0
		if !dangling && !all {
			continue
		}
		if inUse != nil && inUse(sum.Image.ID) {
			continue
		}
		r, err := s.Remove(ctx, sum.Image.ID.String(), true, inUse)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return res, err
		}
		res.Removed = append(res.Removed, *r)
	}
	after, err := s.DiskUsage(nil)
	if err != nil {
		return res, err
	}
	res.Reclaimed = before.LayersSize - after.LayersSize
	return res, nil
}

// Usage is the disk usage of images.
type Usage struct {
	Images int
	// Active is how many images inUse reported.
	Active     int
	LayersSize int64 // unique layers, each counted once
	// Reclaimable is the size of the layers no image in use needs: what
	// removing every unused image would free.
	Reclaimable int64
}

// DiskUsage sums the store. inUse (nil: nothing is) says which images
// containers use.
func (s *Service) DiskUsage(inUse InUse) (*Usage, error) {
	imgs, err := s.store.List()
	if err != nil {
		return nil, err
	}
	layers, err := s.layers.List()
	if err != nil {
		return nil, err
	}
	needed := map[digest.Digest]bool{}
	u := &Usage{Images: len(imgs)}
	for _, img := range imgs {
		if inUse == nil || !inUse(img.ID) {
			continue
		}
		u.Active++
		for _, l := range img.Layers {
			needed[l.ChainID] = true
		}
	}
	for _, l := range layers {
		u.LayersSize += l.Size
		if !needed[l.ChainID] {
			u.Reclaimable += l.Size
		}
	}
	return u, nil
}
