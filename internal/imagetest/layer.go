package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the modification time of entries that do not set one.
const epoch = 1704067200 // 2024-01-01T00:00:00Z

// Compression is how a layer's tar stream is stored in the registry.
type Compression int

const (
	// Gzip is the default: media type application/vnd.docker.image.rootfs.diff.tar.gzip
	// (application/vnd.oci.image.layer.v1.tar+gzip in an OCI image).
	Gzip Compression = iota
	// Zstd: application/vnd.oci.image.layer.v1.tar+zstd.
	Zstd
	// Uncompressed: application/vnd.oci.image.layer.v1.tar.
	Uncompressed
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Uncompressed:
		return "uncompressed"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// Entry is one tar entry of a layer. Zero fields take defaults: Type is
// tar.TypeReg (tar.TypeDir if Name ends in "/"); Mode is 0o644 for files,
// 0o755 for directories and 0o777 for symlinks; ModTime is
// 2024-01-01T00:00:00Z. Name is relative to the root ("bin/sh"); a leading
// "/" or "./" is dropped. Mode holds tar mode bits, so 0o4755 is setuid and
// 0o1777 sticky. Xattrs become PAX SCHILY.xattr records.
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	Uid, Gid int
	Linkname string // target of tar.TypeSymlink and tar.TypeLink (a path in the layer)
	Body     []byte // content of tar.TypeReg
	ModTime  time.Time
	Xattrs   map[string]string
}

// Dir returns a directory entry with the given mode.
func Dir(name string, mode int64) Entry {
	return Entry{Name: name, Type: tar.TypeDir, Mode: mode}
}

// File returns a regular file entry with the given mode and content.
func File(name string, mode int64, body []byte) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: mode, Body: body}
}

// Symlink returns a symlink entry name -> target.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Linkname: target}
}

// Hardlink returns a hard link entry name -> target, where target is an
// earlier entry of the same layer.
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Linkname: target}
}

// Whiteout returns the entry that deletes name from lower layers:
// an empty file "<dir>/.wh.<base>".
func Whiteout(name string) Entry {
	dir, base := path.Split(strings.Trim(name, "/"))
	return File(dir+".wh."+base, 0o644, nil)
}

// OpaqueWhiteout returns the entry that hides everything lower layers put in
// dir: an empty file "<dir>/.wh..wh..opq".
func OpaqueWhiteout(dir string) Entry {
	return File(strings.Trim(dir, "/")+"/.wh..wh..opq", 0o644, nil)
}

// LayerFromEntries builds a layer whose uncompressed content is a tar of
// entries, in order, compressed as c (see [Compression] for media types).
// The compressed bytes are computed once and kept in memory.
func LayerFromEntries(entries []Entry, c Compression) (v1.Layer, error) {
	data, err := Tar(entries)
	if err != nil {
		return nil, err
	}
	return layerFromTar(data, c)
}

// Tar returns the tar stream of entries.
func Tar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr, err := e.header()
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write tar header %s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("write tar entry %s: %w", hdr.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	return buf.Bytes(), nil
}

func (e Entry) header() (*tar.Header, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(e.Name, "./"), "/")
	if name == "" {
		return nil, fmt.Errorf("build tar entry %q: empty name", e.Name)
	}
	typ := e.Type
	if typ == 0 {
		typ = tar.TypeReg
		if strings.HasSuffix(name, "/") {
			typ = tar.TypeDir
		}
	}
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: e.Linkname,
		Mode:     e.Mode,
		Uid:      e.Uid,
		Gid:      e.Gid,
		ModTime:  e.ModTime,
	}
	if hdr.ModTime.IsZero() {
		hdr.ModTime = time.Unix(epoch, 0)
	}
	hdr.ModTime = hdr.ModTime.UTC()
	switch typ {
	case tar.TypeDir:
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o755
		}
	case tar.TypeSymlink:
		if hdr.Mode == 0 {
			hdr.Mode = 0o777
		}
	case tar.TypeReg:
		hdr.Size = int64(len(e.Body))
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
	case tar.TypeLink:
		hdr.Linkname = strings.TrimPrefix(strings.TrimPrefix(e.Linkname, "./"), "/")
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
	}
	if (typ == tar.TypeSymlink || typ == tar.TypeLink) && e.Linkname == "" {
		return nil, fmt.Errorf("build tar entry %s: link without a target", name)
	}
	if typ != tar.TypeReg && len(e.Body) > 0 {
		return nil, fmt.Errorf("build tar entry %s: body on a non-regular entry", name)
	}
	if len(e.Xattrs) > 0 {
		hdr.PAXRecords = make(map[string]string, len(e.Xattrs))
		for k, v := range e.Xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		hdr.Format = tar.FormatPAX
	}
	return hdr, nil
}

// layerFromTar wraps an uncompressed tar stream as a layer compressed as c.
func layerFromTar(data []byte, c Compression) (v1.Layer, error) {
	opener := func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	var (
		l   v1.Layer
		err error
	)
	switch c {
	case Gzip:
		l, err = tarball.LayerFromOpener(opener,
			tarball.WithMediaType(types.DockerLayer),
			tarball.WithCompressedCaching)
	case Zstd:
		l, err = tarball.LayerFromOpener(opener,
			tarball.WithCompression(compression.ZStd),
			tarball.WithMediaType(types.OCILayerZStd),
			tarball.WithCompressedCaching)
	case Uncompressed:
		l = static.NewLayer(data, types.OCIUncompressedLayer)
	default:
		return nil, fmt.Errorf("build layer: unknown compression %v", c)
	}
	if err != nil {
		return nil, fmt.Errorf("build %v layer: %w", c, err)
	}
	mt, err := l.MediaType()
	if err != nil {
		return nil, fmt.Errorf("build %v layer: %w", c, err)
	}
	// Hide tarball's Descriptor method: its empty (non-nil) annotations map
	// makes Manifest() differ from the parsed RawManifest() (validate.Image).
	return typedLayer{Layer: l, mediaType: mt}, nil
}

// typedLayer is a layer with a set media type (for Docker ⇄ OCI, the same
// compression), exposing only the v1.Layer methods.
type typedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l typedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// asManifestType returns l with the media type its compression has in an
// OCI (oci true) or Docker schema 2 manifest. In an OCI image the Docker
// layer types become their OCI equivalents; in a Docker image gzip layers
// use the Docker type, and zstd and uncompressed layers keep the OCI type,
// as docker push does (Docker has no zstd type of its own).
func asManifestType(l v1.Layer, oci bool) (v1.Layer, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, fmt.Errorf("read layer media type: %w", err)
	}
	want := mt
	switch {
	case oci && mt == types.DockerLayer:
		want = types.OCILayer
	case oci && mt == types.DockerUncompressedLayer:
		want = types.OCIUncompressedLayer
	case !oci && mt == types.OCILayer:
		want = types.DockerLayer
	}
	if want == mt {
		return l, nil
	}
	if tl, ok := l.(typedLayer); ok {
		l = tl.Layer
	}
	return typedLayer{Layer: l, mediaType: want}, nil
}
