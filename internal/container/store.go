package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/network"
)

const schemaVersion = 1

// Container is the record of a container: what it was created as.
type Container struct {
	SchemaVersion int           `json:"schemaVersion"`
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Created       time.Time     `json:"created"`
	Image         string        `json:"image"` // the reference given, normalised
	ImageID       digest.Digest `json:"imageID"`
	// Path and Args are the command, as Docker's inspect shows them.
	Path       string     `json:"path"`
	Args       []string   `json:"args"`
	Config     Config     `json:"config"`
	HostConfig HostConfig `json:"hostConfig"`
	// Layers are the image's layer directories, top first (overlay lowerdir order).
	Layers []string `json:"layers"`
	// Mounts are the container's volumes, bind mounts and tmpfs mounts,
	// resolved at create.
	Mounts []MountPoint `json:"mounts,omitempty"`
	// NetworkAliases are --network-alias: more names for the container on
	// its user-defined network.
	NetworkAliases  []string        `json:"networkAliases,omitempty"`
	NetworkSettings NetworkSettings `json:"networkSettings"`
}

// CommandLine is Path followed by Args.
func (c *Container) CommandLine() []string { return append([]string{c.Path}, c.Args...) }

// Config is Docker's container Config, as far as berth has it.
type Config struct {
	Hostname      string              `json:"Hostname"`
	Domainname    string              `json:"Domainname"`
	User          string              `json:"User"`
	Tty           bool                `json:"Tty"`
	OpenStdin     bool                `json:"OpenStdin"`
	Env           []string            `json:"Env"`
	Cmd           []string            `json:"Cmd"`
	Entrypoint    []string            `json:"Entrypoint"`
	EntrypointSet bool                `json:"BerthEntrypointSet,omitempty"`
	Image         string              `json:"Image"`
	WorkingDir    string              `json:"WorkingDir"`
	Labels        map[string]string   `json:"Labels"`
	StopSignal    string              `json:"StopSignal,omitempty"`
	StopTimeout   *int                `json:"StopTimeout,omitempty"`
	ExposedPorts  map[string]struct{} `json:"ExposedPorts,omitempty"`
	// Healthcheck is --health-* (over the image's HEALTHCHECK).
	Healthcheck *HealthConfig `json:"Healthcheck,omitempty"`
}

// HostConfig is Docker's HostConfig, as far as berth has it.
type HostConfig struct {
	AutoRemove     bool          `json:"AutoRemove"`
	RestartPolicy  RestartPolicy `json:"RestartPolicy"`
	Privileged     bool          `json:"Privileged"`
	ReadonlyRootfs bool          `json:"ReadonlyRootfs"`
	CapAdd         []string      `json:"CapAdd"`
	CapDrop        []string      `json:"CapDrop"`
	SecurityOpt    []string      `json:"SecurityOpt"`
	Devices        []string      `json:"Devices"`
	NetworkMode    string        `json:"NetworkMode"`
	Runtime        string        `json:"Runtime"`
	CgroupParent   string        `json:"CgroupParent"`
	Init           bool          `json:"Init"`
	Memory         int64         `json:"Memory"`
	MemorySwap     int64         `json:"MemorySwap"`
	NanoCpus       int64         `json:"NanoCpus"`
	CPUShares      int64         `json:"CpuShares"`
	CpusetCpus     string        `json:"CpusetCpus"`
	PidsLimit      int64         `json:"PidsLimit"`
	ShmSize        int64         `json:"ShmSize"`
	// Binds are -v, Mounts --mount, Tmpfs --tmpfs (destination → options)
	// and VolumesFrom --volumes-from, as given.
	Binds       []string          `json:"Binds"`
	Mounts      []mountspec.Mount `json:"Mounts,omitempty"`
	Tmpfs       map[string]string `json:"Tmpfs,omitempty"`
	VolumesFrom []string          `json:"VolumesFrom"`
	// PortBindings are -p, PublishAllPorts -P.
	PortBindings    []network.PortRequest `json:"BerthPortBindings,omitempty"`
	PublishAllPorts bool                  `json:"PublishAllPorts"`
	ExtraHosts      []string              `json:"ExtraHosts"`
	DNS             []string              `json:"Dns"`
	DNSSearch       []string              `json:"DnsSearch"`
	DNSOptions      []string              `json:"DnsOptions"`
	Sysctls         map[string]string     `json:"Sysctls,omitempty"`
	Ulimits         []Ulimit              `json:"Ulimits,omitempty"`
}

// Ulimit is Docker's: a resource limit by name ("nofile", "nproc", …).
type Ulimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

// RestartPolicy is Docker's: "no", "on-failure" (with a maximum), "always", "unless-stopped".
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// Status values, Docker's.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// State is the mutable state of a container.
type State struct {
	Status       string    `json:"Status"`
	Pid          int       `json:"Pid"`
	MonitorPid   int       `json:"MonitorPid"`
	ExitCode     int       `json:"ExitCode"`
	Error        string    `json:"Error"`
	StartedAt    time.Time `json:"StartedAt"`
	FinishedAt   time.Time `json:"FinishedAt"`
	OOMKilled    bool      `json:"OOMKilled"`
	Health       *Health   `json:"Health,omitempty"`
	RestartCount int       `json:"RestartCount"`
}

// Store keeps container records under <root>/containers.
type Store struct {
	dir    string
	runDir string
}

func newStore(root, runRoot string) (*Store, error) {
	s := &Store{dir: filepath.Join(root, "containers"), runDir: filepath.Join(runRoot, "containers")}
	for _, d := range []string{s.dir, s.runDir} {
		if err := os.MkdirAll(d, 0o710); err != nil {
			return nil, fmt.Errorf("create container store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) path(id string, elem ...string) string {
	return filepath.Join(append([]string{s.dir, id}, elem...)...)
}

func (s *Store) runPath(id string, elem ...string) string {
	return filepath.Join(append([]string{s.runDir, id}, elem...)...)
}

func (s *Store) lock(ctx context.Context) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.dir, ".lock"), lockfile.Exclusive)
}

// newID returns a random 64-hex ID.
func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get reads the record of id (a full ID).
func (s *Store) get(id string) (*Container, error) {
	var c Container
	if err := atomicfile.ReadJSON(s.path(id, "config.json"), &c); errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.New(errdefs.ErrNotFound, "No such container: %s", id)
	} else if err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	if c.SchemaVersion != schemaVersion {
		return nil, fmt.Errorf("container %s: unknown record version %d", id, c.SchemaVersion)
	}
	return &c, nil
}

// list reads every record, newest first.
func (s *Store) list() ([]*Container, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() || len(e.Name()) != 64 {
			continue
		}
		c, err := s.get(e.Name())
		if errdefs.IsNotFound(err) {
			continue // being created or removed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// lookup finds a container by full ID, name, or unique ID prefix (Docker's order).
func (s *Store) lookup(ref string) (*Container, error) {
	ref = strings.TrimPrefix(ref, "/")
	if len(ref) == 64 {
		if c, err := s.get(ref); err == nil {
			return c, nil
		}
	}
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == ref {
			return c, nil
		}
	}
	var found *Container
	for _, c := range all {
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			if found != nil {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "multiple IDs found with provided prefix: %s", ref)
			}
			found = c
		}
	}
	if found == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "No such container: %s", ref)
	}
	return found, nil
}

// state reads the recorded state (not re-derived).
func (s *Store) state(id string) (State, error) {
	var st State
	if err := atomicfile.ReadJSON(s.path(id, "state.json"), &st); errors.Is(err, fs.ErrNotExist) {
		return State{Status: StatusCreated}, nil
	} else if err != nil {
		return State{}, fmt.Errorf("read state of %s: %w", id, err)
	}
	return st, nil
}

func (s *Store) saveState(id string, st State) error {
	return atomicfile.WriteJSON(s.path(id, "state.json"), st, 0o600)
}

// saveRunning records a start without fsync: the record is re-derived
// after a crash (nothing runs then; view reports a torn record as dead),
// and the start of every container would wait for two fsyncs.
func (s *Store) saveRunning(id string, st State) error {
	return atomicfile.WriteJSONVolatile(s.path(id, "state.json"), st, 0o600)
}

// monitorAlive reports whether a live monitor holds the container's lock.
func (s *Store) monitorAlive(id string) bool {
	l, err := lockfile.TryAcquire(s.runPath(id, "monitor.lock"), lockfile.Exclusive)
	if err != nil {
		return errdefs.IsUnavailable(err)
	}
	l.Unlock()
	return false
}
