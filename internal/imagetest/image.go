package imagetest

import (
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// created is the creation time of every config and history entry.
const created = epoch

// DefaultPath is the PATH of the fixtures' configs (Docker's default).
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec describes an image for [Image].
type Spec struct {
	Layers []v1.Layer // bottom first
	Config v1.Config  // Cmd, Env, Entrypoint, WorkingDir, User, Labels, …
	// OCI selects OCI media types for the manifest and config (and gzip
	// layers) instead of Docker schema 2.
	OCI bool
	// Platform defaults to linux/amd64 (OS and Architecture separately).
	Platform v1.Platform
	// History holds the created_by of each layer's history entry; missing
	// ones read "imagetest layer N".
	History []string
}

// Image builds the image spec describes. Its config records the platform,
// a fixed creation time and one history entry per layer.
func Image(spec Spec) (v1.Image, error) {
	p := spec.Platform
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = "amd64"
	}
	at := v1.Time{Time: time.Unix(created, 0).UTC()}

	base := empty.Image
	if spec.OCI {
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		OSVersion:    p.OSVersion,
		OSFeatures:   p.OSFeatures,
		Variant:      p.Variant,
		Created:      at,
		Config:       spec.Config,
		RootFS:       v1.RootFS{Type: "layers"},
	}
	base, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}

	adds := make([]mutate.Addendum, 0, len(spec.Layers))
	for i, l := range spec.Layers {
		l, err := asManifestType(l, spec.OCI)
		if err != nil {
			return nil, fmt.Errorf("add layer %d: %w", i, err)
		}
		createdBy := fmt.Sprintf("imagetest layer %d", i)
		if i < len(spec.History) {
			createdBy = spec.History[i]
		}
		adds = append(adds, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: at, CreatedBy: createdBy},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	return img, nil
}

// Index builds a multi-platform index of images keyed by platform
// ("linux/amd64", "linux/arm64", "linux/arm/v7", as v1.ParsePlatform reads
// them), in key order. An image whose config names another platform gets a
// copy of the config with the key's OS, architecture and variant, so one
// image may serve several keys (its layers are shared). The index is a
// Docker manifest list if every image is Docker schema 2, else an OCI index.
func Index(images map[string]v1.Image) (v1.ImageIndex, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("build index: no images")
	}
	keys := make([]string, 0, len(images))
	for k := range images {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	mediaType := types.DockerManifestList
	adds := make([]mutate.IndexAddendum, 0, len(keys))
	for _, key := range keys {
		p, err := v1.ParsePlatform(key)
		if err != nil {
			return nil, fmt.Errorf("build index: parse platform %q: %w", key, err)
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("build index: platform %q: want os/arch[/variant]", key)
		}
		img, err := withPlatform(images[key], *p)
		if err != nil {
			return nil, fmt.Errorf("build index: platform %s: %w", key, err)
		}
		mt, err := img.MediaType()
		if err != nil {
			return nil, fmt.Errorf("build index: platform %s: read media type: %w", key, err)
		}
		if mt != types.DockerManifestSchema2 {
			mediaType = types.OCIImageIndex
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        imageNotArtifact{img},
			Descriptor: v1.Descriptor{Platform: p},
		})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mediaType), adds...), nil
}

// withPlatform returns img with its config's platform set to p; img itself
// if it already matches.
func withPlatform(img v1.Image, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if cf.OS == p.OS && cf.Architecture == p.Architecture && cf.Variant == p.Variant {
		return img, nil
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	return out, nil
}

// imageNotArtifact hides an image's artifact type, which go-containerregistry
// otherwise copies from the config media type into index descriptors.
// Registries' indexes of images (Docker Hub's) carry no artifactType.
type imageNotArtifact struct{ v1.Image }

func (imageNotArtifact) ArtifactType() (string, error) { return "", nil }
