package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"berth.dev/berth/internal/compose"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/network"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
	"berth.dev/berth/internal/registryconf"
	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/runtime/libct"
	"berth.dev/berth/internal/runtime/ocicli"
	"berth.dev/berth/internal/sysinfo"
	"berth.dev/berth/internal/version"
	"berth.dev/berth/internal/volume"
)

// Options are the global settings of a berth process.
type Options struct {
	Root    string // state, default /var/lib/berth
	RunRoot string // runtime state, default /run/berth
	// ConfigPath is the config file; ConfigRequired makes a missing file an
	// error (the user named it).
	ConfigPath     string
	ConfigRequired bool
	LogLevel       string // passed on to monitors
	Logger         *slog.Logger
}

// Engine is one berth process's view of the host.
type Engine struct {
	opts Options
	cfg  *config.Loaded
	log  *slog.Logger

	images     *image.Service     // opened by Images
	containers *container.Service // opened by Containers
	volumes    *volume.Store      // opened by Volumes
	networks   *network.Store     // opened by Networks
}

// New loads and validates the configuration.
func New(opts Options) (*Engine, error) {
	// The monitor runs in "/" and gets these paths as flags: relative
	// ones would name other files there.
	for _, p := range []*string{&opts.Root, &opts.RunRoot, &opts.ConfigPath} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, fmt.Errorf("resolve path %s: %w", *p, err)
		}
		*p = abs
	}
	cfg, err := config.Load(opts.ConfigPath, opts.ConfigRequired)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, cfg: cfg, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	r, err := e.resolver(registryconf.Flags{})
	if err != nil {
		return nil, err
	}
	for _, w := range r.Warnings() {
		e.log.Warn(w)
	}
	return e, nil
}

func (e *Engine) resolver(flags registryconf.Flags) (*registryconf.Resolver, error) {
	return registryconf.New(e.cfg.Config, e.cfg.Path, flags, registryconf.WithLookupIP(lookupIP))
}

// lookupIP resolves a registry host for CIDR entries of insecure-registries,
// within a short deadline.
func lookupIP(host string) ([]net.IP, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = a.IP
	}
	return ips, nil
}

// ResolveImage explains where a pull of ref would go under the config and
// the command's flags. A blocked name returns the plan and the error.
func (e *Engine) ResolveImage(ctx context.Context, ref string, flags registryconf.Flags) (*registry.Plan, error) {
	name, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	r, err := e.resolver(flags)
	if err != nil {
		return nil, err
	}
	creds, err := credential.Open("")
	if err != nil {
		return nil, err
	}
	res, rerr := r.Resolve(name)
	if res == nil {
		return nil, rerr
	}
	return registry.NewPlan(res, creds), rerr
}

// Info is what `berth info` shows.
type Info struct {
	ServerVersion string `json:"ServerVersion"`
	Root          string `json:"BerthRootDir"`
	RunRoot       string `json:"BerthRunDir"`
	ConfigFile    string `json:"ConfigFile"`
	ConfigFound   bool   `json:"ConfigFound"`
	Driver        string `json:"Driver"`
	sysinfo.Host
	DefaultRuntime string       `json:"DefaultRuntime"`
	Registry       RegistryInfo `json:"RegistryConfig"`
}

// RegistryInfo is the registry configuration in force.
type RegistryInfo struct {
	Mirrors  []string                `json:"Mirrors"`
	Insecure []string                `json:"InsecureRegistries"`
	Rules    []registryconf.RuleInfo `json:"Rules"`
	Warnings []string                `json:"Warnings"`
}

// Info gathers Info; flags are the command's registry flags, shown as they
// would apply.
func (e *Engine) Info(ctx context.Context, flags registryconf.Flags) (*Info, error) {
	r, err := e.resolver(flags)
	if err != nil {
		return nil, err
	}
	info := &Info{
		ServerVersion: version.Version,
		Root:          e.opts.Root,
		RunRoot:       e.opts.RunRoot,
		ConfigFile:    e.cfg.Path,
		ConfigFound:   e.cfg.Found,
		Driver:        "overlay",
		Host:          sysinfo.Read(ctx),
		Registry: RegistryInfo{
			Mirrors:  e.cfg.Mirrors,
			Insecure: r.InsecureRegistries(),
			Rules:    r.Rules(),
			Warnings: r.Warnings(),
		},
	}
	if len(flags.Mirrors) > 0 {
		info.Registry.Mirrors = flags.Mirrors
	}
	// The embedded libcontainer runtime is what runtime("") opens; runc and
	// crun on PATH are there for --runtime.
	exe, _ := os.Executable()
	info.DefaultRuntime = "berth"
	info.Runtimes = append([]sysinfo.Runtime{{Name: "berth", Path: exe, Version: "embedded libcontainer"}}, info.Runtimes...)
	return info, nil
}

// Images opens the image service (creating the root if needed) and sweeps
// what killed processes left behind.
func (e *Engine) Images(ctx context.Context) (*image.Service, error) {
	if e.images != nil {
		return e.images, nil
	}
	if err := os.MkdirAll(e.opts.Root, 0o711); err != nil {
		return nil, fmt.Errorf("create root %s: %w", e.opts.Root, err)
	}
	creds, err := credential.Open("")
	if err != nil {
		return nil, err
	}
	svc, err := image.NewService(e.opts.Root, registry.NewClient(creds, e.log), e.log)
	if err != nil {
		return nil, err
	}
	if err := svc.Sweep(ctx); err != nil {
		return nil, err
	}
	e.images = svc
	return svc, nil
}

// Pull pulls ref through the registry rules and the command's flags.
func (e *Engine) Pull(ctx context.Context, ref string, flags registryconf.Flags, opts image.PullOptions) (*registry.Plan, *image.PullResult, error) {
	plan, err := e.ResolveImage(ctx, ref, flags)
	if err != nil {
		return plan, nil, err
	}
	svc, err := e.Images(ctx)
	if err != nil {
		return plan, nil, err
	}
	res, err := svc.Pull(ctx, plan, opts)
	return plan, res, err
}

// RegistryEndpoint is how berth contacts a registry host directly (login):
// its TLS settings from the configuration.
func (e *Engine) RegistryEndpoint(host string) (registryconf.Candidate, error) {
	r, err := e.resolver(registryconf.Flags{})
	if err != nil {
		return registryconf.Candidate{}, err
	}
	return r.Endpoint(host)
}

// ResolvePush explains where a push of ref would go under the config (the
// command flags' rules are for pulls). A refused push returns the plan and
// the error.
func (e *Engine) ResolvePush(ctx context.Context, ref string) (*registry.PushPlan, error) {
	name, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	r, err := e.resolver(registryconf.Flags{})
	if err != nil {
		return nil, err
	}
	creds, err := credential.Open("")
	if err != nil {
		return nil, err
	}
	res, rerr := r.ResolvePush(name)
	if res == nil {
		return nil, rerr
	}
	return registry.NewPushPlan(res, creds), rerr
}

// Push pushes the image plan.Name to the plan's endpoint (from ResolvePush).
func (e *Engine) Push(ctx context.Context, plan *registry.PushPlan, progress func(image.Progress)) (*image.PushResult, error) {
	if plan.Endpoint == nil {
		return nil, fmt.Errorf("push %s: %s: %w", plan.Name, plan.Reason, errdefs.ErrForbidden)
	}
	svc, err := e.Images(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := credential.Open("")
	if err != nil {
		return nil, err
	}
	p, err := registry.NewClient(creds, e.log).NewPusher(ctx, plan.Endpoint.Candidate)
	if err != nil {
		return nil, err
	}
	return svc.Push(ctx, plan.Name, p, progress)
}

// Containers opens the container service.
func (e *Engine) Containers(ctx context.Context) (*container.Service, error) {
	if e.containers != nil {
		return e.containers, nil
	}
	images, err := e.Images(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(e.opts.RunRoot, 0o711); err != nil {
		return nil, fmt.Errorf("create run root %s: %w", e.opts.RunRoot, err)
	}
	// A monitor runs from a copy of the binary and is told the original.
	exe := os.Getenv(container.ExeEnv)
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the berth binary: %w", err)
		}
	}
	level := e.opts.LogLevel
	if level == "" {
		level = "warn"
	}
	monitorCmd := []string{exe, "--root", e.opts.Root, "--run-root", e.opts.RunRoot, "--log-level", level}
	if e.cfg.Found {
		monitorCmd = append(monitorCmd, "--config", e.cfg.Path)
	}
	volumes, err := e.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	networks, err := e.Networks(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := container.New(container.Options{
		Volumes:  volumes,
		Networks: networks,
		Root:     e.opts.Root, RunRoot: e.opts.RunRoot, Images: images, Runtimes: e.runtime,
		MonitorCommand: monitorCmd,
		InitPath:       initPath(exe),
		CgroupParent:   e.cfg.CgroupParent,
		Logger:         e.log,
	})
	if err != nil {
		return nil, err
	}
	if err := svc.Sweep(ctx); err != nil {
		return nil, err
	}
	e.containers = svc
	return svc, nil
}

// Networks opens the network store (<root>/networks), with the config's
// default-address-pools and bip.
func (e *Engine) Networks(ctx context.Context) (*network.Store, error) {
	if e.networks != nil {
		return e.networks, nil
	}
	cfg, err := e.networkConfig()
	if err != nil {
		return nil, err
	}
	n, err := network.New(e.opts.Root, e.opts.RunRoot, cfg)
	if err != nil {
		return nil, err
	}
	n.Sweep(ctx)
	e.networks = n
	return n, nil
}

// networkConfig reads bip and default-address-pools from the config.
func (e *Engine) networkConfig() (network.Config, error) {
	var cfg network.Config
	f := e.cfg.File
	if f.BIP != "" {
		p, err := netip.ParsePrefix(f.BIP)
		if err != nil || !p.Addr().Is4() {
			return cfg, errdefs.New(errdefs.ErrInvalidArgument, "%s: bip: %q is not an IPv4 address with a prefix length", e.cfg.Path, f.BIP)
		}
		cfg.BIP = p
	}
	for i, ap := range f.DefaultAddressPools {
		p, err := netip.ParsePrefix(ap.Base)
		if err != nil || !p.Addr().Is4() || ap.Size < p.Bits() || ap.Size > 30 {
			return cfg, errdefs.New(errdefs.ErrInvalidArgument, "%s: default-address-pools[%d]: base %q with size %d is not an IPv4 pool", e.cfg.Path, i, ap.Base, ap.Size)
		}
		cfg.Pools = append(cfg.Pools, network.Pool{Base: p, Size: ap.Size})
	}
	return cfg, nil
}

// Compose is the compose package's backend: this engine's services, and
// pulls of missing images through the registry rules and the command's
// registry flags.
func (e *Engine) Compose(ctx context.Context, flags registryconf.Flags) (compose.Backend, error) {
	ctrs, err := e.Containers(ctx)
	if err != nil {
		return compose.Backend{}, err
	}
	nets, err := e.Networks(ctx)
	if err != nil {
		return compose.Backend{}, err
	}
	vols, err := e.Volumes(ctx)
	if err != nil {
		return compose.Backend{}, err
	}
	return compose.Backend{Containers: ctrs, Networks: nets, Volumes: vols, EnsureImage: func(ctx context.Context, ref string) error {
		imgs, err := e.Images(ctx)
		if err != nil {
			return err
		}
		if _, _, err := imgs.Resolve(ref); err == nil {
			return nil
		}
		_, _, err = e.Pull(ctx, ref, flags, image.PullOptions{})
		return err
	}, RemoveImage: func(ctx context.Context, ref string) error {
		imgs, err := e.Images(ctx)
		if err != nil {
			return err
		}
		_, err = imgs.Remove(ctx, ref, false, ctrs.UsesImage)
		return err
	}}, nil
}

// Volumes opens the volume store (<root>/volumes).
func (e *Engine) Volumes(ctx context.Context) (*volume.Store, error) {
	if e.volumes != nil {
		return e.volumes, nil
	}
	v, err := volume.New(filepath.Join(e.opts.Root, "volumes"))
	if err != nil {
		return nil, err
	}
	if err := v.Sweep(ctx); err != nil {
		return nil, err
	}
	e.volumes = v
	return v, nil
}

// runtime opens an OCI runtime by name: "" or "berth" is the embedded
// libcontainer; "runc", "crun" or a path is that binary.
func (e *Engine) runtime(name string) (runtime.Runtime, error) {
	base := filepath.Join(e.opts.RunRoot, "runtime")
	switch name {
	case "", "berth", "libct":
		return libct.New(filepath.Join(base, "libct"))
	}
	bin := name
	if !filepath.IsAbs(bin) {
		p, err := exec.LookPath(name)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "unknown or invalid runtime name: %s", name)
		}
		bin = p
	}
	return ocicli.New(bin, filepath.Join(base, filepath.Base(bin)))
}

// initPath finds berth-init, the static init for --init: beside the berth
// binary, or in /usr/local/libexec/berth.
func initPath(exe string) string {
	for _, p := range []string{filepath.Join(filepath.Dir(exe), "berth-init"), "/usr/local/libexec/berth/berth-init"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
