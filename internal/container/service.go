package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/network"
	"berth.dev/berth/internal/oci"
	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/volume"
)

// Runtimes opens a runtime by name: "" (the default, embedded), "runc",
// "crun" or a path to an OCI runtime binary.
type Runtimes func(name string) (runtime.Runtime, error)

// Options wire a Service.
type Options struct {
	Root, RunRoot string
	Images        *image.Service
	Volumes       *volume.Store
	Networks      *network.Store
	Runtimes      Runtimes
	// MonitorCommand is how to start `berth monitor`: the binary and the
	// global flags; Start appends "monitor", "ID".
	MonitorCommand []string
	// InitPath is the static init binary for --init ("" if none).
	InitPath string
	// CgroupParent is the cgroup under which each container's cgroup
	// (CgroupParent/ID) goes: "" is /berth.
	CgroupParent string
	Logger       *slog.Logger
}

// Service is the container service.
type Service struct {
	opts  Options
	store *Store
	log   *slog.Logger
}

// New opens the container store.
func New(opts Options) (*Service, error) {
	st, err := newStore(opts.Root, opts.RunRoot)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, store: st, log: log}, nil
}

// CreateOptions is a container to create from an image present in the store.
type CreateOptions struct {
	Name       string
	Image      string // as the user wrote it
	Config     Config
	HostConfig HostConfig
	// IP is --ip, MAC --mac-address, Aliases --network-alias.
	IP      netip.Addr
	MAC     net.HardwareAddr
	Aliases []string
}

// Create makes a container from an image in the store.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (*Container, error) {
	img, ref, err := s.opts.Images.Resolve(opts.Image)
	if err != nil {
		return nil, err
	}
	cfg, _, err := s.opts.Images.Config(img)
	if err != nil {
		return nil, err
	}
	var layers []string
	for i := len(img.Layers) - 1; i >= 0; i-- {
		l, err := s.opts.Images.Layers().Get(img.Layers[i].ChainID)
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %s: %w", opts.Image, img.Layers[i].DiffID, err)
		}
		layers = append(layers, s.opts.Images.Layers().DiffDir(l))
	}
	if opts.Name != "" && !validName.MatchString(opts.Name) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", opts.Name)
	}
	if rp := opts.HostConfig.RestartPolicy; rp.Name != "" && rp.Name != "no" && opts.HostConfig.AutoRemove {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "Conflicting options: --restart and --rm")
	}
	c := &Container{
		SchemaVersion: schemaVersion,
		ID:            newID(),
		Name:          strings.TrimPrefix(opts.Name, "/"),
		Created:       time.Now().UTC(),
		Image:         opts.Image,
		ImageID:       img.ID,
		Config:        opts.Config,
		HostConfig:    opts.HostConfig,
		Layers:        layers,
	}
	if !ref.IsZero() {
		c.Image = ref.Familiar()
	}
	// As Docker: the image as the user named it (ps's IMAGE column);
	// c.Image is its normalised form.
	c.Config.Image = opts.Image
	if c.Config.Hostname == "" {
		c.Config.Hostname = c.ID[:12]
	}
	if c.HostConfig.NetworkMode == "" || c.HostConfig.NetworkMode == "default" {
		c.HostConfig.NetworkMode = network.DefaultName
	}
	// Check the options now, as Docker does at create: a bad capability,
	// no command or an unknown user is an error before anything is made.
	users := readUsers(layers)
	if _, err := oci.Generate(cfg.Config, s.runOptions(c, "/nonexistent-rootfs"), users); err != nil {
		return nil, err
	}
	argv, err := oci.Command(cfg.Config, s.runOptions(c, ""))
	if err != nil {
		return nil, err
	}
	c.Path, c.Args = argv[0], argv[1:]

	lock, err := s.store.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	all, err := s.store.list()
	if err != nil {
		return nil, err
	}
	if c.Name == "" {
		for taken := true; taken; {
			c.Name, taken = randomName(), false
			for _, o := range all {
				taken = taken || o.Name == c.Name
			}
		}
	}
	for _, o := range all {
		if o.Name == c.Name {
			return nil, errdefs.New(errdefs.ErrConflict, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", c.Name, o.ID)
		}
	}
	mounts, err := s.resolveMounts(ctx, c, &cfg.Config)
	if err != nil {
		return nil, err
	}
	c.Mounts = mounts
	created := false
	defer func() {
		if !created {
			s.removeAnonymousVolumes(context.Background(), c)
		}
	}()
	c.NetworkAliases = opts.Aliases
	if err := s.attachNetworks(ctx, c, &cfg.Config, opts.IP, opts.MAC); err != nil {
		return nil, err
	}
	defer func() {
		if !created {
			s.detachNetworks(context.Background(), c)
		}
	}()
	dir := s.store.path(c.ID)
	tmp := dir + ".creating"
	// The overlay's root directory takes its owner and mode from upper/:
	// 0755, or only root could enter the container's /.
	for _, d := range []string{"upper", "work", "rootfs", "bundle"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o700); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("create container %s: %w", c.ID, err)
		}
	}
	if err := os.Chmod(filepath.Join(tmp, "upper"), 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create container %s: %w", c.ID, err)
	}
	if err := s.writeEtcFiles(tmp, c); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	c.Layers = layers
	if err := atomicfile.WriteJSON(filepath.Join(tmp, "config.json"), c, 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create container %s: %w", c.ID, err)
	}
	created = true
	return c, nil
}

// cgroupParent is where c's cgroup goes: its --cgroup-parent, else the
// config's cgroup-parent, else /berth.
func (s *Service) cgroupParent(c *Container) string {
	switch {
	case c.HostConfig.CgroupParent != "":
		return c.HostConfig.CgroupParent
	case s.opts.CgroupParent != "":
		return s.opts.CgroupParent
	}
	return "/berth"
}

// runOptions turns a container into the spec generator's options.
func (s *Service) runOptions(c *Container, rootfs string) oci.RunOptions {
	dir := s.store.path(c.ID)
	o := oci.RunOptions{
		ID: c.ID, Rootfs: rootfs,
		Entrypoint: c.Config.Entrypoint, EntrypointSet: c.Config.EntrypointSet, Cmd: c.Config.Cmd,
		Env: c.Config.Env, WorkingDir: c.Config.WorkingDir, User: c.Config.User,
		Hostname: c.Config.Hostname, Domainname: c.Config.Domainname,
		Tty: c.Config.Tty, OpenStdin: c.Config.OpenStdin, ReadOnly: c.HostConfig.ReadonlyRootfs,
		Privileged: c.HostConfig.Privileged, CapAdd: c.HostConfig.CapAdd, CapDrop: c.HostConfig.CapDrop,
		SecurityOpt: c.HostConfig.SecurityOpt, Devices: c.HostConfig.Devices, DeviceInfo: deviceInfo,
		Memory: c.HostConfig.Memory, MemorySwap: c.HostConfig.MemorySwap, NanoCPUs: c.HostConfig.NanoCpus,
		CPUShares: c.HostConfig.CPUShares, CpusetCpus: c.HostConfig.CpusetCpus, PidsLimit: c.HostConfig.PidsLimit,
		Network: c.HostConfig.NetworkMode, Labels: c.Config.Labels, CgroupsPath: s.cgroupParent(c) + "/" + c.ID,
		ShmSize: c.HostConfig.ShmSize, Sysctls: c.HostConfig.Sysctls,
		Mounts: []specs.Mount{
			bindMount(filepath.Join(dir, "hostname"), "/etc/hostname", c.HostConfig.ReadonlyRootfs),
			bindMount(filepath.Join(dir, "hosts"), "/etc/hosts", c.HostConfig.ReadonlyRootfs),
			bindMount(filepath.Join(dir, "resolv.conf"), "/etc/resolv.conf", c.HostConfig.ReadonlyRootfs),
		},
	}
	for _, so := range c.HostConfig.SecurityOpt {
		if p, ok := strings.CutPrefix(so, "seccomp="); ok && p != "unconfined" {
			o.SeccompProfile, _ = os.ReadFile(p)
		}
	}
	if c.HostConfig.Init {
		o.InitPath = s.opts.InitPath
	}
	switch mode := c.HostConfig.NetworkMode; {
	case bridged(mode):
		o.Network, o.NetNSPath = "none", s.netnsPath(c.ID)
	case strings.HasPrefix(mode, "container:"):
		// The other container's namespace, found at start (sharedNetNS);
		// a stand-in until then.
		o.Network, o.NetNSPath = "none", "/proc/self/ns/net"
	}
	return o
}

func bindMount(src, dst string, ro bool) specs.Mount {
	opts := []string{"rbind", "rprivate"}
	if ro {
		opts = append(opts, "ro")
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts (with its
// address and --add-host lines) and /etc/resolv.conf (see resolvConf).
func (s *Service) writeEtcFiles(dir string, c *Container) error {
	var userNet *network.Network
	if mode := c.HostConfig.NetworkMode; bridged(mode) && mode != network.DefaultName && s.opts.Networks != nil {
		userNet, _ = s.opts.Networks.Get(mode)
	}
	files := map[string]string{"hostname": c.Config.Hostname + "\n", "hosts": hostsFile(c), "resolv.conf": resolvConf(c, userNet)}
	// --network container:ID shares the other container's files too.
	if other, ok := strings.CutPrefix(c.HostConfig.NetworkMode, "container:"); ok {
		for _, name := range []string{"hosts", "resolv.conf"} {
			if data, err := os.ReadFile(s.store.path(other, name)); err == nil {
				files[name] = string(data)
			}
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// readUsers reads /etc/passwd and /etc/group from the image's layers, top
// first, as data (never through the host's NSS).
func readUsers(layers []string) oci.Users {
	var u oci.Users
	if r := openLayered(layers, "etc/passwd"); r != nil {
		u.Passwd, _ = oci.ParsePasswd(r)
		r.Close()
	}
	if r := openLayered(layers, "etc/group"); r != nil {
		u.Groups, _ = oci.ParseGroup(r)
		r.Close()
	}
	return u
}

// openLayered opens name in the topmost layer that has it as a regular
// file, through os.Root; a whiteout hides lower layers.
func openLayered(layers []string, name string) io.ReadCloser {
	for _, dir := range layers {
		root, err := os.OpenRoot(dir)
		if err != nil {
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil {
			root.Close()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil
		}
		if !fi.Mode().IsRegular() {
			root.Close()
			return nil // a whiteout or something odd: no file
		}
		f, err := root.Open(name)
		root.Close()
		if err != nil {
			return nil
		}
		return f
	}
	return nil
}

func deviceInfo(path string) (specs.LinuxDevice, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return specs.LinuxDevice{}, fmt.Errorf("device %s: %w", path, err)
	}
	typ := ""
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFCHR:
		typ = "c"
	case syscall.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, errdefs.New(errdefs.ErrInvalidArgument, "%s is not a device", path)
	}
	mode := os.FileMode(st.Mode & 0o777)
	return specs.LinuxDevice{Path: path, Type: typ, Major: int64(st.Rdev >> 8 & 0xfff), Minor: int64(st.Rdev&0xff | st.Rdev>>12&0xfff00), FileMode: &mode, UID: &st.Uid, GID: &st.Gid}, nil
}

// spawnMonitor starts `berth monitor ID` detached from this process.
func (s *Service) spawnMonitor(id string) error {
	run := s.store.runPath(id)
	if err := os.MkdirAll(run, 0o700); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	logf, err := os.OpenFile(filepath.Join(run, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	defer logf.Close()
	// The socket is made here and handed to the monitor as fd 3, so that
	// the caller can connect at once instead of polling for it.
	sock := filepath.Join(run, "monitor.sock")
	os.Remove(sock)
	ln, err := listenUnix(sock)
	if err != nil {
		return fmt.Errorf("start monitor of %s: %w", id, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the monitor owns the socket file now
	defer ln.Close()
	lnFile, err := ul.File()
	if err != nil {
		return fmt.Errorf("start monitor of %s: %w", id, err)
	}
	defer lnFile.Close()
	if err := s.startBerth([]string{"monitor", id}, logf, []*os.File{lnFile}, monitorListenEnv+"=3"); err != nil {
		os.Remove(sock)
		return fmt.Errorf("start monitor of %s: %w", id, err)
	}
	return nil
}

// monitorListenEnv names the descriptor of the monitor's listening socket.
const monitorListenEnv = "BERTH_MONITOR_LISTEN_FD"
