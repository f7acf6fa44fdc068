package layer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
)

const schemaVersion = 1

// Layer is the record of an unpacked layer.
type Layer struct {
	SchemaVersion int           `json:"schemaVersion"`
	ID            string        `json:"id"`
	ChainID       digest.Digest `json:"chainID"`
	DiffID        digest.Digest `json:"diffID"`
	Parent        digest.Digest `json:"parent,omitempty"`
	// Size is the total size of the layer's regular files, in bytes.
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	// Source is the compressed blob it was unpacked from, kept so that a
	// push can reuse it where the registry already has it.
	Source *Source `json:"source,omitempty"`
}

// Source is a compressed form of a layer and where it was seen.
type Source struct {
	Digest     digest.Digest `json:"digest"`
	MediaType  string        `json:"mediaType"`
	Size       int64         `json:"size"`
	Repository string        `json:"repository"`
}

// ChainID is the chain ID of a layer with diffID over parent ("" for none).
func ChainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

// Store holds the layers under one root.
type Store struct {
	dir string // <root>/layers
	tmp string // <root>/tmp
}

// New opens (creating if needed) the layer store under root.
func New(root string) (*Store, error) {
	s := &Store{dir: filepath.Join(root, "layers"), tmp: filepath.Join(root, "tmp")}
	for _, d := range []string{s.dir, filepath.Join(s.dir, "index"), filepath.Join(s.dir, "locks"), s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create layer store: %w", err)
		}
	}
	return s, nil
}

// DiffDir is the unpacked content of l.
func (s *Store) DiffDir(l *Layer) string { return filepath.Join(s.dir, l.ID, "diff") }

func (s *Store) indexPath(chainID digest.Digest) string {
	return filepath.Join(s.dir, "index", chainID.Encoded())
}

// Get returns the layer with chainID, or an error of kind ErrNotFound.
func (s *Store) Get(chainID digest.Digest) (*Layer, error) {
	if err := chainID.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s: %w: %w", chainID, errdefs.ErrInvalidArgument, err)
	}
	id, err := os.ReadFile(s.indexPath(chainID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("layer %s: %w", chainID, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read layer index %s: %w", chainID, err)
	}
	return s.read(strings.TrimSpace(string(id)))
}

func (s *Store) read(id string) (*Layer, error) {
	var l Layer
	if err := atomicfile.ReadJSON(filepath.Join(s.dir, id, "layer.json"), &l); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("layer %s: %w", id, errdefs.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("read layer %s: %w", id, err)
	}
	if l.SchemaVersion != schemaVersion {
		return nil, fmt.Errorf("layer %s: unknown record version %d", id, l.SchemaVersion)
	}
	return &l, nil
}

// List returns every indexed layer.
func (s *Store) List() ([]*Layer, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "index"))
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	var out []*Layer
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		l, err := s.Get(digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LockIngest takes the per-chain ingest lock: hold it while checking for,
// downloading and committing the layer, so that concurrent pulls unpack it
// once. It may be held across network I/O; it guards only this chain ID.
func (s *Store) LockIngest(ctx context.Context, chainID digest.Digest) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.dir, "locks", chainID.Encoded()), lockfile.Exclusive)
}

func (s *Store) lockStore(ctx context.Context) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.dir, ".lock"), lockfile.Exclusive)
}

// Staging is a directory a layer is unpacked into before Commit. Its name
// carries the owner's PID, so that Sweep removes only those whose owner is
// gone.
type Staging struct {
	root string // tmp/layer-<pid>-*
}

// Dir is where the layer's files go.
func (st *Staging) Dir() string { return filepath.Join(st.root, "diff") }

// MetaPath is where a metadata file of the layer goes (beside diff/).
func (st *Staging) MetaPath(name string) string { return filepath.Join(st.root, name) }

// TarSplitPath is the tar-split metadata of l: with the files of its diff
// directory it reproduces the layer's original tar stream byte for byte, so
// a push keeps its diff ID.
func (s *Store) TarSplitPath(l *Layer) string { return filepath.Join(s.dir, l.ID, TarSplitName) }

// TarSplitName is the metadata file name used by Staging.MetaPath.
const TarSplitName = "tar-split.json.gz"

// Discard removes the staging directory.
func (st *Staging) Discard() error {
	if st.root == "" {
		return nil
	}
	err := os.RemoveAll(st.root)
	st.root = ""
	return err
}

// NewStaging makes an empty staging directory owned by this process.
func (s *Store) NewStaging() (*Staging, error) {
	root, err := os.MkdirTemp(s.tmp, fmt.Sprintf("layer-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create layer staging: %w", err)
	}
	if err := os.Mkdir(filepath.Join(root, "diff"), 0o755); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("create layer staging: %w", err)
	}
	return &Staging{root: root}, nil
}

// ownerAlive reports whether the process whose PID a staging name carries
// still runs (a reused PID keeps the garbage until that process ends).
func ownerAlive(name string) bool {
	f := strings.SplitN(name, "-", 3)
	if len(f) < 3 {
		return false
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || pid <= 0 {
		return false
	}
	return unix.Kill(pid, 0) == nil || errors.Is(unix.Kill(pid, 0), unix.EPERM)
}

// Commit makes the staged layer l visible under l.ChainID and consumes st.
// If the chain ID is already present (another process committed it), st is
// discarded and the existing layer returned.
func (s *Store) Commit(ctx context.Context, st *Staging, l Layer) (*Layer, error) {
	defer st.Discard()
	if err := l.ChainID.Validate(); err != nil {
		return nil, fmt.Errorf("commit layer %s: %w: %w", l.ChainID, errdefs.ErrInvalidArgument, err)
	}
	lock, err := s.lockStore(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if existing, err := s.Get(l.ChainID); err == nil {
		return existing, nil
	}
	id, err := s.nextID()
	if err != nil {
		return nil, err
	}
	l.SchemaVersion, l.ID = schemaVersion, id
	if l.Created.IsZero() {
		l.Created = time.Now().UTC()
	}
	if err := atomicfile.WriteJSON(filepath.Join(st.root, "layer.json"), l, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(st.root, filepath.Join(s.dir, id)); err != nil {
		return nil, fmt.Errorf("commit layer %s: %w", l.ChainID, err)
	}
	st.root = ""
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(s.indexPath(l.ChainID), []byte(id+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("index layer %s: %w", l.ChainID, err)
	}
	return &l, nil
}

// nextID allocates a short layer ID; the caller holds the store lock.
func (s *Store) nextID() (string, error) {
	p := filepath.Join(s.dir, "next")
	n := 1
	if data, err := os.ReadFile(p); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	for {
		if _, err := os.Lstat(filepath.Join(s.dir, strconv.Itoa(n))); errors.Is(err, fs.ErrNotExist) {
			break
		}
		n++
	}
	if err := atomicfile.Write(p, []byte(strconv.Itoa(n+1)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("allocate layer id: %w", err)
	}
	return strconv.Itoa(n), nil
}

// Remove deletes the layer chainID: first from the index (so it is no
// longer visible), then its directory.
func (s *Store) Remove(ctx context.Context, chainID digest.Digest) error {
	lock, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	l, err := s.Get(chainID)
	if err != nil {
		return err
	}
	if err := os.Remove(s.indexPath(chainID)); err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	return s.removeDir(l.ID)
}

func (s *Store) removeDir(id string) error {
	trash, err := os.MkdirTemp(s.tmp, "removed-")
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", id, err)
	}
	if err := os.Rename(filepath.Join(s.dir, id), filepath.Join(trash, "layer")); err != nil {
		return fmt.Errorf("remove layer %s: %w", id, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove layer %s: %w", id, err)
	}
	return nil
}

// Sweep removes what crashed or killed processes left: staging and trash
// directories nobody holds, and layer directories that no index entry
// names.
func (s *Store) Sweep(ctx context.Context) error {
	lock, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	indexed := map[string]bool{}
	idx, err := os.ReadDir(filepath.Join(s.dir, "index"))
	if err != nil {
		return fmt.Errorf("sweep layers: %w", err)
	}
	for _, e := range idx {
		p := filepath.Join(s.dir, "index", e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			os.Remove(p) // a temporary file of a write that was killed (writes hold the lock we hold)
			continue
		}
		if id, err := os.ReadFile(p); err == nil {
			indexed[strings.TrimSpace(string(id))] = true
		}
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("sweep layers: %w", err)
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || !e.IsDir() || indexed[e.Name()] {
			continue
		}
		if err := s.removeDir(e.Name()); err != nil {
			return err
		}
	}
	tmp, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("sweep staging: %w", err)
	}
	for _, e := range tmp {
		name := filepath.Join(s.tmp, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), "removed-"):
			os.RemoveAll(name)
		case strings.HasPrefix(e.Name(), "layer-"), strings.HasPrefix(e.Name(), "push-"), strings.HasPrefix(e.Name(), "load-"):
			if !ownerAlive(e.Name()) {
				os.RemoveAll(name)
			}
		}
	}
	return nil
}
