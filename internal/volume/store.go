package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
)

const schemaVersion = 1

// Driver and Scope of every volume: berth has Docker's local driver only.
const (
	DriverLocal = "local"
	ScopeLocal  = "local"
)

// AnonymousLabel is the label Docker (since 23.0) puts on anonymous volumes;
// `volume prune` without --all removes only volumes that carry it.
const AnonymousLabel = "com.docker.volume.anonymous"

// Volume is a volume as `docker volume inspect` shows it.
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`     // always "local"
	Mountpoint string            `json:"Mountpoint"` // <root>/<name>/_data
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	Options    map[string]string `json:"Options"` // -o type=…,device=…,o=…
	Scope      string            `json:"Scope"`   // "local"
	// Anonymous volumes are made for `-v /path` and image VOLUMEs; `rm -v`
	// and `run --rm` remove them.
	Anonymous bool `json:"BerthAnonymous,omitempty"`
}

// record is volume.json: the Volume plus the format's version.
type record struct {
	SchemaVersion int `json:"BerthSchemaVersion"`
	Volume
}

// CreateOptions are the optional parts of a new volume.
type CreateOptions struct {
	Labels map[string]string
	// Options are the local driver's: type, device and o (mount(8)'s -t,
	// device and -o). Without them a volume is a plain directory.
	Options   map[string]string
	Anonymous bool
}

// Store holds the volumes under one root.
type Store struct {
	root string
	// realRoot is root with symlinks resolved, as /proc/self/mountinfo
	// shows mount points under it.
	realRoot string
}

// New opens (creating if needed) the volume store at root.
func New(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o701); err != nil {
		return nil, fmt.Errorf("create volume store %s: %w", root, err)
	}
	if err := os.Chmod(root, 0o701); err != nil {
		return nil, fmt.Errorf("create volume store %s: %w", root, err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("create volume store %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("create volume store %s: %w", root, err)
	}
	return &Store{root: abs, realRoot: real}, nil
}

func (s *Store) dir(name string) string        { return filepath.Join(s.root, name) }
func (s *Store) dataDir(name string) string    { return filepath.Join(s.root, name, "_data") }
func (s *Store) stagingDir(name string) string { return filepath.Join(s.root, "."+name+".creating") }
func (s *Store) trashDir(name string) string   { return filepath.Join(s.root, "."+name+".removing") }

func (s *Store) lock(ctx context.Context) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.root, ".lock"), lockfile.Exclusive)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// validName checks name as Docker's local driver does, with its wording.
func validName(name string) error {
	if len(name) == 1 {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"create %s: volume name is too short, names should be at least two alphanumeric characters", name)
	}
	if !nameRE.MatchString(name) {
		return errdefs.New(errdefs.ErrInvalidArgument,
			"create %s: %q includes invalid characters for a local volume name, only %q are allowed",
			name, name, "[a-zA-Z0-9][a-zA-Z0-9_.-]")
	}
	return nil
}

// Option keys of the local driver, and which others each one requires
// (Docker's mandatoryOpts).
var (
	validOptions    = map[string]bool{"type": true, "device": true, "o": true}
	requiredOptions = map[string][]string{
		"device": {"type"},
		"type":   {"device"},
		"o":      {"device", "type"},
	}
)

func checkOptions(name string, opts map[string]string) error {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validOptions[k] {
			return errdefs.New(errdefs.ErrInvalidArgument, "create %s: invalid option key: %q", name, k)
		}
	}
	for _, k := range keys {
		for _, req := range requiredOptions[k] {
			if _, ok := opts[req]; !ok {
				return errdefs.New(errdefs.ErrInvalidArgument, "create %s: missing required option: %q", name, req)
			}
		}
	}
	return nil
}

func notFound(name string) error {
	return errdefs.New(errdefs.ErrNotFound, "get volume %s: no such volume", name)
}

// newName returns a random 64-hex name for an anonymous volume.
func newName() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create makes the volume name, or an anonymous volume with a random name
// if name is "". Creating a volume that exists returns it (Docker is
// idempotent), unless opts.Options differ from its own: that is a
// conflict. Labels of an existing volume are not compared, as in Docker.
func (s *Store) Create(ctx context.Context, name string, opts CreateOptions) (*Volume, error) {
	if name == "" {
		name, opts.Anonymous = newName(), true
	} else if err := validName(name); err != nil {
		return nil, err
	}
	if err := checkOptions(name, opts.Options); err != nil {
		return nil, err
	}
	lock, err := s.lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	defer lock.Unlock()

	if v, err := s.get(name); err == nil {
		if !maps.Equal(v.Options, opts.Options) {
			return nil, fmt.Errorf("create volume %s: exists with different options: %w", name, errdefs.ErrConflict)
		}
		return v, nil
	} else if !errdefs.IsNotFound(err) {
		return nil, err
	}

	v := Volume{
		Name:       name,
		Driver:     DriverLocal,
		Mountpoint: s.dataDir(name),
		CreatedAt:  time.Now().UTC(),
		Labels:     maps.Clone(opts.Labels),
		Options:    maps.Clone(opts.Options),
		Scope:      ScopeLocal,
		Anonymous:  opts.Anonymous,
	}
	if v.Anonymous {
		if v.Labels == nil {
			v.Labels = map[string]string{}
		}
		v.Labels[AnonymousLabel] = ""
	}
	stage := s.stagingDir(name)
	if err := os.RemoveAll(stage); err != nil { // left by a killed creation; we hold the lock
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := s.build(stage, v); err != nil {
		os.RemoveAll(stage)
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := os.Rename(stage, s.dir(name)); err != nil {
		os.RemoveAll(stage)
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(s.root); err != nil {
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	return &v, nil
}

// build makes the staging directory of v: _data and the record.
func (s *Store) build(stage string, v Volume) error {
	if err := os.Mkdir(stage, 0o701); err != nil {
		return err
	}
	if err := os.Chmod(stage, 0o701); err != nil { // not the umask's
		return err
	}
	data := filepath.Join(stage, "_data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(data, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(stage, "volume.json"), record{SchemaVersion: schemaVersion, Volume: v}, 0o600); err != nil {
		return err
	}
	return atomicfile.SyncDir(stage)
}

// Get returns the volume name, or an error of kind ErrNotFound.
func (s *Store) Get(name string) (*Volume, error) {
	if !nameRE.MatchString(name) {
		return nil, notFound(name)
	}
	return s.get(name)
}

// get reads the record of a valid name. A directory whose record is
// missing or names another volume is not a volume.
func (s *Store) get(name string) (*Volume, error) {
	var r record
	if err := atomicfile.ReadJSON(filepath.Join(s.dir(name), "volume.json"), &r); errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, notFound(name)
	} else if err != nil {
		return nil, fmt.Errorf("read volume %s: %w", name, err)
	}
	if r.SchemaVersion != schemaVersion {
		return nil, fmt.Errorf("read volume %s: unknown record version %d", name, r.SchemaVersion)
	}
	if r.Name != name {
		return nil, notFound(name)
	}
	v := r.Volume
	v.Mountpoint = s.dataDir(name) // where it is now, should the root have moved
	return &v, nil
}

// List returns every volume, sorted by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range ents { // ReadDir sorts by name
		if !e.IsDir() || !nameRE.MatchString(e.Name()) {
			continue
		}
		v, err := s.get(e.Name())
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Remove deletes the volume name: it unmounts whatever is mounted on or
// below it (the local driver's mount), then removes its data and record.
// Whether a container still uses the volume is the caller's question.
func (s *Store) Remove(ctx context.Context, name string) error {
	if !nameRE.MatchString(name) {
		return notFound(name)
	}
	lock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	defer lock.Unlock()
	if _, err := s.get(name); err != nil {
		return err
	}
	// Unmount before anything is deleted: RemoveAll would otherwise empty
	// a bind-mounted host directory.
	if err := s.unmountBelow(name); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	trash := s.trashDir(name)
	if err := s.removeTree(trash); err != nil { // left by a killed removal
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.Rename(s.dir(name), trash); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(s.root); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// unmountBelow detaches every mount on or below the directory of the
// volume name.
func (s *Store) unmountBelow(name string) error {
	return unmountBelow(filepath.Join(s.realRoot, name))
}

// removeTree deletes dir (a staging or trash directory of root), after
// detaching anything mounted below it.
func (s *Store) removeTree(dir string) error {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil {
		return err
	}
	if err := unmountBelow(filepath.Join(s.realRoot, rel)); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// Sweep removes what killed processes left: half-created and half-removed
// volume directories, and the partial data of a copy-up that was cut short
// (so that the next Populate copies again into an empty volume).
func (s *Store) Sweep(ctx context.Context) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("sweep volumes: %w", err)
	}
	defer lock.Unlock()
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("sweep volumes: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sweep volumes: %w", err)
		}
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".") && (strings.HasSuffix(n, ".creating") || strings.HasSuffix(n, ".removing")):
			if err := s.removeTree(filepath.Join(s.root, n)); err != nil {
				errs = append(errs, fmt.Errorf("sweep volumes: remove %s: %w", n, err))
			}
		case e.IsDir() && nameRE.MatchString(n):
			if err := s.sweepPopulate(n); err != nil {
				errs = append(errs, fmt.Errorf("sweep volume %s: %w", n, err))
			}
		}
	}
	return errors.Join(errs...)
}

// sweepPopulate clears the data of an interrupted copy-up of the volume
// name, unless a live Populate holds it.
func (s *Store) sweepPopulate(name string) error {
	marker := filepath.Join(s.dir(name), populatingMarker)
	// Temporary files of a marker write that was killed (atomicfile's).
	tmps, _ := filepath.Glob(filepath.Join(s.dir(name), "."+populatingMarker+".tmp-*"))
	_, err := os.Lstat(marker)
	if errors.Is(err, fs.ErrNotExist) && len(tmps) == 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l, err := lockfile.TryAcquire(filepath.Join(s.dir(name), populateLock), lockfile.Exclusive)
	if errdefs.IsUnavailable(err) {
		return nil // a copy-up is under way
	}
	if err != nil {
		return err
	}
	defer l.Unlock()
	for _, p := range tmps {
		os.Remove(p)
	}
	if _, err := os.Lstat(marker); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	v, err := s.get(name)
	if errdefs.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if len(v.Options) > 0 {
		// The partial copy is on the volume's own file system; clear it
		// only with that mounted (Populate mounts, then clears).
		mounted, err := isMountPoint(filepath.Join(s.realRoot, name, "_data"))
		if err != nil || !mounted {
			return err
		}
	}
	return s.resetPopulate(name)
}

// Mount makes the volume's data ready and returns the host directory a
// container bind-mounts (v.Mountpoint). A volume created with Options is
// mounted there first, unless it is mounted already: Mount is idempotent
// and the mount stays until Remove.
func (s *Store) Mount(ctx context.Context, v *Volume) (string, error) {
	if v == nil {
		return "", fmt.Errorf("mount volume: no volume given: %w", errdefs.ErrInvalidArgument)
	}
	name := v.Name
	if !nameRE.MatchString(name) {
		return "", notFound(name)
	}
	lock, err := s.lock(ctx)
	if err != nil {
		return "", fmt.Errorf("mount volume %s: %w", name, err)
	}
	defer lock.Unlock()
	cur, err := s.get(name) // the record, not the caller's copy, says how to mount
	if err != nil {
		return "", err
	}
	dir := s.dataDir(name)
	if len(cur.Options) == 0 {
		return dir, nil
	}
	if err := mountVolume(cur.Options, dir, filepath.Join(s.realRoot, name, "_data")); err != nil {
		return "", fmt.Errorf("mount volume %s: %w", name, err)
	}
	return dir, nil
}
