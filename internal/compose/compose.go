package compose

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/network"
	"berth.dev/berth/internal/volume"
)

// Docker Compose's labels.
const (
	LabelProject    = "com.docker.compose.project"
	LabelService    = "com.docker.compose.service"
	LabelNumber     = "com.docker.compose.container-number"
	LabelOneoff     = "com.docker.compose.oneoff"
	LabelConfigHash = "com.docker.compose.config-hash"
	LabelNetwork    = "com.docker.compose.network"
	LabelVolume     = "com.docker.compose.volume"
	LabelWorkingDir = "com.docker.compose.project.working_dir"
)

// LoadOptions are the options of every compose command.
type LoadOptions struct {
	Files       []string // -f; none: compose.yaml & co. in WorkDir and its parents
	ProjectName string   // -p; COMPOSE_PROJECT_NAME otherwise
	WorkDir     string   // --project-directory
	EnvFiles    []string // --env-file
	Profiles    []string // --profile
}

// Load reads a project with compose-go: file discovery, several -f merged,
// .env and --env-file, interpolation, profiles, extends and include. The
// services it cannot run are refused here, naming the key.
func Load(ctx context.Context, o LoadOptions) (*types.Project, error) {
	opts := []cli.ProjectOptionsFn{cli.WithOsEnv, cli.WithEnvFiles(o.EnvFiles...), cli.WithDotEnv, cli.WithConfigFileEnv, cli.WithDefaultConfigPath, cli.WithProfiles(o.Profiles)}
	if o.WorkDir != "" {
		opts = append(opts, cli.WithWorkingDirectory(o.WorkDir))
	}
	if o.ProjectName != "" {
		opts = append(opts, cli.WithName(o.ProjectName))
	}
	po, err := cli.NewProjectOptions(o.Files, opts...)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "compose: %v", err)
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "compose: %v", err)
	}
	if err := check(p); err != nil {
		return nil, err
	}
	return p, nil
}

// check refuses what berth does not run yet, naming the service and key,
// rather than ignoring it.
func check(p *types.Project) error {
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		unsupported := map[string]bool{
			"build":          s.Build != nil,
			"devices":        len(s.Devices) > 0,
			"links":          len(s.Links) > 0,
			"external_links": len(s.ExternalLinks) > 0,
			"group_add":      len(s.GroupAdd) > 0,
			"ipc":            s.Ipc != "",
			"pid":            s.Pid != "",
			"userns_mode":    s.UserNSMode != "",
			"cgroup_parent":  s.CgroupParent != "",
			"logging":        s.Logging != nil && s.Logging.Driver != "" && s.Logging.Driver != "json-file",
			"volumes_from":   len(s.VolumesFrom) > 0,
			"extra_hosts (several addresses for one name)": hasMultiHost(s.ExtraHosts),
		}
		keys := make([]string, 0, len(unsupported))
		for k, v := range unsupported {
			if v {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			return errdefs.New(errdefs.ErrNotImplemented, "compose: service %q: %s: not supported by berth yet", name, strings.Join(keys, ", "))
		}
		if s.Image == "" {
			return errdefs.New(errdefs.ErrInvalidArgument, "compose: service %q has neither an image nor a build section", name)
		}
	}
	for _, k := range sortedKeys(p.Secrets) {
		if sc := p.Secrets[k]; sc.File == "" && !sc.External {
			return errdefs.New(errdefs.ErrNotImplemented, "compose: secret %q: only secrets from files are supported by berth yet", k)
		}
	}
	for _, k := range sortedKeys(p.Configs) {
		if cc := p.Configs[k]; cc.File == "" && !cc.External {
			return errdefs.New(errdefs.ErrNotImplemented, "compose: config %q: only configs from files are supported by berth yet", k)
		}
	}
	return nil
}

func hasMultiHost(h types.HostsList) bool {
	for _, ips := range h {
		if len(ips) > 1 {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Backend is what compose uses of the engine.
type Backend struct {
	Containers *container.Service
	Networks   *network.Store
	Volumes    *volume.Store
	// EnsureImage pulls ref unless it is in the store (pull_policy: missing).
	EnsureImage func(ctx context.Context, ref string) error
	// RemoveImage removes an image no container uses (down --rmi all).
	RemoveImage func(ctx context.Context, ref string) error
}

// UpOptions are `compose up`'s.
type UpOptions struct {
	Services      []string // none: all
	NoDeps        bool     // only Services, not what they depend on
	ForceRecreate bool
	NoRecreate    bool
	RemoveOrphans bool           // remove containers of services no longer in the project
	Scale         map[string]int // --scale SERVICE=N
	// Wait for depends_on conditions at most this long each.
	Timeout time.Duration
	// Wait, after starting, until every service runs (and is healthy if
	// it has a health check).
	Wait bool
}

// Up creates the project's networks and volumes, then creates (or
// recreates, when its config changed) and starts each service's containers
// in dependency order, services that do not depend on each other at once,
// waiting for depends_on conditions (service_started, service_healthy,
// service_completed_successfully).
func Up(ctx context.Context, b Backend, p *types.Project, o UpOptions) error {
	if len(o.Services) > 0 {
		var err error
		dep := types.IncludeDependencies
		if o.NoDeps {
			dep = types.IgnoreDependencies
		}
		if p, err = p.WithSelectedServices(o.Services, dep); err != nil {
			return errdefs.New(errdefs.ErrInvalidArgument, "compose: %v", err)
		}
	}
	for svc, n := range o.Scale {
		s, ok := p.Services[svc]
		if !ok {
			return errdefs.New(errdefs.ErrNotFound, "compose: --scale: no such service: %s", svc)
		}
		s.Scale = &n
		p.Services[svc] = s
	}
	if o.RemoveOrphans {
		all, err := Containers(ctx, b, p.Name, "")
		if err != nil {
			return err
		}
		for _, v := range all {
			if _, ok := p.Services[v.Config.Labels[LabelService]]; !ok && len(o.Services) == 0 {
				b.Containers.Stop(ctx, v.ID, 10*time.Second, 0)
				if _, err := b.Containers.Remove(ctx, v.ID, true, true); err != nil {
					return err
				}
			}
		}
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if err := ensureNetworks(ctx, b, p); err != nil {
		return err
	}
	if err := ensureVolumes(ctx, b, p); err != nil {
		return err
	}
	err := graph.InDependencyOrder(ctx, p, func(ctx context.Context, name string, s types.ServiceConfig) error {
		for dep, d := range s.DependsOn {
			if err := waitFor(ctx, b, p.Name, dep, d.Condition, o.Timeout); err != nil {
				if !d.Required {
					continue
				}
				return fmt.Errorf("compose: service %s: dependency %s: %w", name, dep, err)
			}
		}
		return upService(ctx, b, p, s, o)
	})
	if err != nil || !o.Wait {
		return err
	}
	for _, name := range p.ServiceNames() {
		cond := types.ServiceConditionStarted
		if hc := p.Services[name].HealthCheck; hc != nil && !hc.Disable {
			cond = types.ServiceConditionHealthy
		}
		if err := waitFor(ctx, b, p.Name, name, cond, o.Timeout); err != nil {
			return fmt.Errorf("compose: --wait: service %s: %w", name, err)
		}
	}
	return nil
}

func networkName(p *types.Project, key string) string {
	if n, ok := p.Networks[key]; ok && n.Name != "" {
		return n.Name
	}
	return p.Name + "_" + key
}

func ensureNetworks(ctx context.Context, b Backend, p *types.Project) error {
	for _, key := range sortedKeys(p.Networks) {
		nc := p.Networks[key]
		name := networkName(p, key)
		if _, err := b.Networks.Get(name); err == nil {
			continue
		}
		if nc.External {
			return errdefs.New(errdefs.ErrNotFound, "compose: network %s declared as external, but could not be found", name)
		}
		if nc.Driver != "" && nc.Driver != "bridge" {
			return errdefs.New(errdefs.ErrNotImplemented, "compose: network %s: driver %q: berth has only the bridge driver", key, nc.Driver)
		}
		co := network.CreateOptions{Internal: nc.Internal, Labels: map[string]string{LabelProject: p.Name, LabelNetwork: key}}
		for k, v := range nc.Labels {
			co.Labels[k] = v
		}
		if len(nc.Ipam.Config) > 0 {
			pool := nc.Ipam.Config[0]
			var err error
			if pool.Subnet != "" {
				if co.Subnet, err = netip.ParsePrefix(pool.Subnet); err != nil {
					return errdefs.New(errdefs.ErrInvalidArgument, "compose: network %s: subnet %q: %v", key, pool.Subnet, err)
				}
			}
			if pool.Gateway != "" {
				if co.Gateway, err = netip.ParseAddr(pool.Gateway); err != nil {
					return errdefs.New(errdefs.ErrInvalidArgument, "compose: network %s: gateway %q: %v", key, pool.Gateway, err)
				}
			}
			if pool.IPRange != "" {
				if co.IPRange, err = netip.ParsePrefix(pool.IPRange); err != nil {
					return errdefs.New(errdefs.ErrInvalidArgument, "compose: network %s: ip_range %q: %v", key, pool.IPRange, err)
				}
			}
		}
		if _, err := b.Networks.Create(ctx, name, co); err != nil && !errdefs.IsConflict(err) {
			return err
		}
	}
	return nil
}

func volumeName(p *types.Project, key string) string {
	if v, ok := p.Volumes[key]; ok && v.Name != "" {
		return v.Name
	}
	return p.Name + "_" + key
}

func ensureVolumes(ctx context.Context, b Backend, p *types.Project) error {
	for _, key := range sortedKeys(p.Volumes) {
		vc := p.Volumes[key]
		name := volumeName(p, key)
		if _, err := b.Volumes.Get(name); err == nil {
			continue
		}
		if vc.External {
			return errdefs.New(errdefs.ErrNotFound, "compose: external volume %q not found", name)
		}
		if vc.Driver != "" && vc.Driver != "local" {
			return errdefs.New(errdefs.ErrNotImplemented, "compose: volume %s: driver %q: berth has only the local driver", key, vc.Driver)
		}
		labels := map[string]string{LabelProject: p.Name, LabelVolume: key}
		for k, v := range vc.Labels {
			labels[k] = v
		}
		if _, err := b.Volumes.Create(ctx, name, volume.CreateOptions{Labels: labels, Options: vc.DriverOpts}); err != nil {
			return err
		}
	}
	return nil
}

// replicas is how many containers a service runs.
func replicas(s types.ServiceConfig) int {
	if s.Scale != nil {
		return *s.Scale
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	return 1
}

// configHash identifies a service's configuration: a container whose
// label differs is recreated.
func configHash(s types.ServiceConfig) string {
	s.Scale, s.DependsOn = nil, nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	data, _ := json.Marshal(s)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Containers lists the project's containers (of one service if service
// is not empty), by name.
func Containers(ctx context.Context, b Backend, project, service string) ([]*container.View, error) {
	all, err := b.Containers.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []*container.View
	for _, v := range all {
		if v.Config.Labels[LabelProject] == project && (service == "" || v.Config.Labels[LabelService] == service) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func upService(ctx context.Context, b Backend, p *types.Project, s types.ServiceConfig, o UpOptions) error {
	hash := configHash(s)
	existing, err := Containers(ctx, b, p.Name, s.Name)
	if err != nil {
		return err
	}
	have := map[int]*container.View{}
	for _, v := range existing {
		n, _ := strconv.Atoi(v.Config.Labels[LabelNumber])
		if n > replicas(s) {
			b.Containers.Stop(ctx, v.ID, 10*time.Second, 0)
			b.Containers.Remove(ctx, v.ID, true, true)
			continue
		}
		have[n] = v
	}
	if err := b.EnsureImage(ctx, s.Image); err != nil {
		return fmt.Errorf("compose: service %s: %w", s.Name, err)
	}
	for n := 1; n <= replicas(s); n++ {
		v := have[n]
		if v != nil && (o.ForceRecreate || (v.Config.Labels[LabelConfigHash] != hash && !o.NoRecreate)) {
			b.Containers.Stop(ctx, v.ID, stopTimeout(s), 0)
			if _, err := b.Containers.Remove(ctx, v.ID, true, true); err != nil {
				return err
			}
			v = nil
		}
		if v == nil {
			opts, err := createOptions(p, s, n, hash)
			if err != nil {
				return err
			}
			c, err := b.Containers.Create(ctx, opts)
			if err != nil {
				return fmt.Errorf("compose: service %s: %w", s.Name, err)
			}
			if err := connectOthers(ctx, b, p, s, c.ID); err != nil {
				return err
			}
			if v, err = b.Containers.Get(ctx, c.ID); err != nil {
				return err
			}
		}
		if v.State.Status == container.StatusRunning || v.State.Status == container.StatusRestarting {
			continue
		}
		_, att, err := b.Containers.Start(ctx, v.ID)
		if err != nil {
			return fmt.Errorf("compose: service %s: %w", s.Name, err)
		}
		att.Close()
	}
	return nil
}

func stopTimeout(s types.ServiceConfig) time.Duration {
	if s.StopGracePeriod != nil {
		return time.Duration(*s.StopGracePeriod)
	}
	return 10 * time.Second
}

// serviceNetworks are the service's networks, by priority (highest first)
// then name; the first is the one its containers are created on.
func serviceNetworks(s types.ServiceConfig) []string {
	if len(s.Networks) == 0 {
		return []string{"default"}
	}
	keys := sortedKeys(s.Networks)
	sort.SliceStable(keys, func(i, j int) bool {
		var pi, pj int
		if c := s.Networks[keys[i]]; c != nil {
			pi = c.Priority
		}
		if c := s.Networks[keys[j]]; c != nil {
			pj = c.Priority
		}
		return pi > pj
	})
	return keys
}

func aliases(s types.ServiceConfig, key string) []string {
	out := []string{s.Name}
	if c := s.Networks[key]; c != nil {
		out = append(out, c.Aliases...)
	}
	return out
}

func connectOthers(ctx context.Context, b Backend, p *types.Project, s types.ServiceConfig, id string) error {
	if s.NetworkMode != "" {
		return nil
	}
	nets := serviceNetworks(s)
	for _, key := range nets[1:] {
		var ip netip.Addr
		if c := s.Networks[key]; c != nil && c.Ipv4Address != "" {
			ip, _ = netip.ParseAddr(c.Ipv4Address)
		}
		if err := b.Containers.Connect(ctx, networkName(p, key), id, ip, aliases(s, key)); err != nil {
			return fmt.Errorf("compose: service %s: network %s: %w", s.Name, key, err)
		}
	}
	return nil
}

// createOptions maps a service to `docker create` options.
func createOptions(p *types.Project, s types.ServiceConfig, n int, hash string) (container.CreateOptions, error) {
	name := s.ContainerName
	if name == "" {
		name = fmt.Sprintf("%s-%s-%d", p.Name, s.Name, n)
	}
	o := container.CreateOptions{Name: name, Image: s.Image}
	c, h := &o.Config, &o.HostConfig
	c.Labels = map[string]string{LabelProject: p.Name, LabelService: s.Name, LabelNumber: strconv.Itoa(n), LabelOneoff: "False", LabelConfigHash: hash, LabelWorkingDir: p.WorkingDir}
	for k, v := range s.Labels {
		c.Labels[k] = v
	}
	c.Cmd = s.Command
	if s.Entrypoint != nil {
		c.EntrypointSet, c.Entrypoint = true, s.Entrypoint
	}
	for _, k := range sortedKeys(s.Environment) {
		if v := s.Environment[k]; v != nil {
			c.Env = append(c.Env, k+"="+*v)
		} else {
			c.Env = append(c.Env, k)
		}
	}
	c.WorkingDir, c.User, c.Hostname, c.Domainname = s.WorkingDir, s.User, s.Hostname, s.DomainName
	c.Tty, c.OpenStdin = s.Tty, s.StdinOpen
	c.StopSignal = s.StopSignal
	if s.StopGracePeriod != nil {
		t := int(time.Duration(*s.StopGracePeriod) / time.Second)
		c.StopTimeout = &t
	}
	for _, e := range s.Expose {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		if !strings.Contains(e, "/") {
			e += "/tcp"
		}
		c.ExposedPorts[e] = struct{}{}
	}
	if hc := s.HealthCheck; hc != nil {
		c.Healthcheck = &container.HealthConfig{Test: hc.Test}
		if hc.Disable {
			c.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		}
		if hc.Interval != nil {
			c.Healthcheck.Interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			c.Healthcheck.Timeout = time.Duration(*hc.Timeout)
		}
		if hc.StartPeriod != nil {
			c.Healthcheck.StartPeriod = time.Duration(*hc.StartPeriod)
		}
		if hc.Retries != nil {
			c.Healthcheck.Retries = int(*hc.Retries)
		}
	}
	h.CapAdd, h.CapDrop, h.SecurityOpt = s.CapAdd, s.CapDrop, s.SecurityOpt
	h.Privileged, h.ReadonlyRootfs = s.Privileged, s.ReadOnly
	if s.Init != nil {
		h.Init = *s.Init
	}
	h.Runtime = s.Runtime
	h.Memory, h.MemorySwap, h.CPUShares, h.CpusetCpus, h.PidsLimit = int64(s.MemLimit), int64(s.MemSwapLimit), s.CPUShares, s.CPUSet, s.PidsLimit
	h.NanoCpus = int64(s.CPUS * 1e9)
	h.ShmSize = int64(s.ShmSize)
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			if l.MemoryBytes > 0 {
				h.Memory = int64(l.MemoryBytes)
			}
			if l.NanoCPUs > 0 {
				h.NanoCpus = int64(float64(l.NanoCPUs) * 1e9)
			}
			if l.Pids > 0 {
				h.PidsLimit = l.Pids
			}
		}
	}
	switch r := s.Restart; {
	case r == "" || r == "no":
	case r == "always" || r == "unless-stopped":
		h.RestartPolicy = container.RestartPolicy{Name: r}
	case strings.HasPrefix(r, "on-failure"):
		h.RestartPolicy = container.RestartPolicy{Name: "on-failure"}
		if _, max, ok := strings.Cut(r, ":"); ok {
			h.RestartPolicy.MaximumRetryCount, _ = strconv.Atoi(max)
		}
	default:
		return o, errdefs.New(errdefs.ErrInvalidArgument, "compose: service %s: restart %q", s.Name, r)
	}
	h.DNS, h.DNSSearch, h.DNSOptions = s.DNS, s.DNSSearch, s.DNSOpts
	for _, host := range sortedKeys(s.ExtraHosts) {
		for _, ip := range s.ExtraHosts[host] {
			h.ExtraHosts = append(h.ExtraHosts, host+":"+ip)
		}
	}
	for _, t := range s.Tmpfs {
		m, err := mountspec.ParseTmpfs(t)
		if err != nil {
			return o, fmt.Errorf("compose: service %s: tmpfs: %w", s.Name, err)
		}
		h.Mounts = append(h.Mounts, m)
	}
	for _, v := range s.Volumes {
		m := mountspec.Mount{Type: mountspec.Type(v.Type), Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			m.BindOptions = &mountspec.BindOptions{CreateMountpoint: v.Bind == nil || bool(v.Bind.CreateHostPath)}
			if v.Bind != nil && v.Bind.Propagation != "" {
				m.BindOptions.Propagation = mountspec.Propagation(v.Bind.Propagation)
			}
		case types.VolumeTypeVolume:
			if v.Source != "" {
				m.Source = volumeName(p, v.Source)
			}
			if v.Volume != nil && v.Volume.NoCopy {
				m.VolumeOptions = &mountspec.VolumeOptions{NoCopy: true}
			}
		case types.VolumeTypeTmpfs:
			if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
				m.TmpfsOptions = &mountspec.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
			}
		default:
			return o, errdefs.New(errdefs.ErrNotImplemented, "compose: service %s: volume type %q is not supported by berth yet", s.Name, v.Type)
		}
		h.Mounts = append(h.Mounts, m)
	}
	if len(s.Sysctls) > 0 {
		h.Sysctls = map[string]string{}
		for k, v := range s.Sysctls {
			h.Sysctls[k] = v
		}
	}
	for _, name := range sortedKeys(s.Ulimits) {
		u := s.Ulimits[name]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		h.Ulimits = append(h.Ulimits, container.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	// Secrets and configs from files: bind-mounted read-only, at
	// /run/secrets/NAME and /NAME unless a target is given (Docker
	// Compose's non-swarm behaviour; uid, gid and mode do not apply).
	for _, ref := range s.Secrets {
		sc, ok := p.Secrets[ref.Source]
		if !ok || sc.File == "" {
			return o, errdefs.New(errdefs.ErrInvalidArgument, "compose: service %s: secret %q is not a file secret of the project", s.Name, ref.Source)
		}
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		h.Mounts = append(h.Mounts, mountspec.Mount{Type: mountspec.TypeBind, Source: sc.File, Target: target, ReadOnly: true, BindOptions: &mountspec.BindOptions{}})
	}
	for _, ref := range s.Configs {
		cc, ok := p.Configs[ref.Source]
		if !ok || cc.File == "" {
			return o, errdefs.New(errdefs.ErrInvalidArgument, "compose: service %s: config %q is not a file config of the project", s.Name, ref.Source)
		}
		target := ref.Target
		if target == "" {
			target = "/" + ref.Source
		}
		h.Mounts = append(h.Mounts, mountspec.Mount{Type: mountspec.TypeBind, Source: cc.File, Target: target, ReadOnly: true, BindOptions: &mountspec.BindOptions{}})
	}
	for _, pc := range s.Ports {
		reqs, err := portRequests(pc)
		if err != nil {
			return o, fmt.Errorf("compose: service %s: %w", s.Name, err)
		}
		h.PortBindings = append(h.PortBindings, reqs...)
	}
	switch {
	case s.NetworkMode != "":
		mode := s.NetworkMode
		if svc, ok := strings.CutPrefix(mode, "service:"); ok {
			mode = "container:" + p.Name + "-" + svc + "-1"
		}
		h.NetworkMode = mode
	default:
		first := serviceNetworks(s)[0]
		h.NetworkMode = networkName(p, first)
		o.Aliases = aliases(s, first)
		if cfg := s.Networks[first]; cfg != nil && cfg.Ipv4Address != "" {
			ip, err := netip.ParseAddr(cfg.Ipv4Address)
			if err != nil {
				return o, errdefs.New(errdefs.ErrInvalidArgument, "compose: service %s: ipv4_address %q", s.Name, cfg.Ipv4Address)
			}
			o.IP = ip
		}
	}
	return o, nil
}

func portRequests(pc types.ServicePortConfig) ([]network.PortRequest, error) {
	proto := pc.Protocol
	if proto == "" {
		proto = "tcp"
	}
	var ip netip.Addr
	if pc.HostIP != "" {
		a, err := netip.ParseAddr(pc.HostIP)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "port %d: host_ip %q", pc.Target, pc.HostIP)
		}
		if !a.IsUnspecified() {
			ip = a
		}
	}
	r := network.PortRequest{HostIP: ip, ContainerPort: uint16(pc.Target), Proto: proto}
	if pc.Published == "" {
		return []network.PortRequest{r}, nil
	}
	lo, hi, isRange := strings.Cut(pc.Published, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "port %d: published %q", pc.Target, pc.Published)
	}
	if isRange {
		// A range of host ports for one container port: the first free.
		bnd, err2 := strconv.ParseUint(hi, 10, 16)
		if err2 != nil || bnd < a {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "port %d: published %q", pc.Target, pc.Published)
		}
	}
	r.HostPort = uint16(a)
	return []network.PortRequest{r}, nil
}

// waitFor waits for a dependency's condition.
func waitFor(ctx context.Context, b Backend, project, service, condition string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		vs, err := Containers(ctx, b, project, service)
		if err != nil {
			return err
		}
		ok, err := conditionMet(vs, condition)
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return errdefs.New(errdefs.ErrUnavailable, "%s not met after %s", condition, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func conditionMet(vs []*container.View, condition string) (bool, error) {
	if len(vs) == 0 {
		return false, nil
	}
	for _, v := range vs {
		st := v.State
		switch condition {
		case types.ServiceConditionStarted, "":
			if st.Status != container.StatusRunning && st.Status != container.StatusExited {
				return false, nil
			}
		case types.ServiceConditionHealthy:
			if st.Status == container.StatusExited {
				return false, errors.New("container exited")
			}
			if st.Health == nil {
				return false, errors.New("container has no healthcheck")
			}
			if st.Health.Status == container.HealthUnhealthy {
				return false, errors.New("container is unhealthy")
			}
			if st.Health.Status != container.HealthHealthy {
				return false, nil
			}
		case types.ServiceConditionCompletedSuccessfully:
			if st.Status != container.StatusExited {
				return false, nil
			}
			if st.ExitCode != 0 {
				return false, fmt.Errorf("container exited with code %d", st.ExitCode)
			}
		default:
			return false, errdefs.New(errdefs.ErrInvalidArgument, "unknown depends_on condition %q", condition)
		}
	}
	return true, nil
}

// DownOptions are `compose down`'s.
type DownOptions struct {
	Volumes bool // -v: the project's named volumes and anonymous ones too
	Timeout time.Duration
	// RemoveImages is --rmi: "all" removes the images of the project's
	// containers ("local", images without a custom tag, is a no-op: berth
	// builds none).
	RemoveImages string
}

// Down stops and removes the project's containers, then its networks
// (and volumes with -v), in reverse dependency order of the services.
func Down(ctx context.Context, b Backend, project string, o DownOptions) error {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	vs, err := Containers(ctx, b, project, "")
	if err != nil {
		return err
	}
	images := map[string]bool{}
	for _, v := range vs {
		images[v.Config.Image] = true
	}
	var wg sync.WaitGroup
	errs := make([]error, len(vs))
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Containers.Stop(ctx, v.ID, o.Timeout, syscall.Signal(0))
			_, errs[i] = b.Containers.Remove(ctx, v.ID, true, o.Volumes)
		}()
	}
	wg.Wait()
	nets, _ := b.Networks.List()
	for _, n := range nets {
		if n.Labels[LabelProject] == project {
			if err := b.Containers.RemoveNetwork(ctx, n.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if o.RemoveImages == "all" && b.RemoveImage != nil {
		for _, ref := range sortedKeys(images) {
			if err := b.RemoveImage(ctx, ref); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if o.Volumes {
		vols, _ := b.Volumes.List()
		for _, v := range vols {
			if v.Labels[LabelProject] == project {
				if err := b.Containers.RemoveVolume(ctx, v.Name); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// RunOptions are `compose run`'s.
type RunOptions struct {
	Command      []string // empty: the service's
	Entrypoint   []string // with EntrypointSet
	Env          []string
	Name         string
	Rm           bool
	NoDeps       bool
	Tty          bool
	ServicePorts bool // publish the service's ports (off by default, as in Docker Compose)
	User         string
	WorkingDir   string
}

// CreateOneOff makes a one-off container of a service (`compose run`):
// the service's configuration with the run's overrides, labelled oneoff,
// named <project>-<service>-run-<id>, on the service's networks; its
// dependencies are brought up first unless NoDeps. The caller starts it.
func CreateOneOff(ctx context.Context, b Backend, p *types.Project, service string, o RunOptions) (*container.Container, error) {
	s, ok := p.Services[service]
	if !ok {
		return nil, errdefs.New(errdefs.ErrNotFound, "compose: no such service: %s", service)
	}
	if err := ensureNetworks(ctx, b, p); err != nil {
		return nil, err
	}
	if err := ensureVolumes(ctx, b, p); err != nil {
		return nil, err
	}
	if deps := s.GetDependencies(); len(deps) > 0 && !o.NoDeps {
		if err := Up(ctx, b, p, UpOptions{Services: deps}); err != nil {
			return nil, err
		}
		for dep, d := range s.DependsOn {
			if err := waitFor(ctx, b, p.Name, dep, d.Condition, 2*time.Minute); err != nil && d.Required {
				return nil, fmt.Errorf("compose: service %s: dependency %s: %w", service, dep, err)
			}
		}
	}
	if err := b.EnsureImage(ctx, s.Image); err != nil {
		return nil, fmt.Errorf("compose: service %s: %w", service, err)
	}
	if !o.ServicePorts {
		s.Ports = nil
	}
	opts, err := createOptions(p, s, 1, configHash(s))
	if err != nil {
		return nil, err
	}
	opts.Name = o.Name
	if opts.Name == "" {
		suffix := make([]byte, 6)
		rand.Read(suffix)
		opts.Name = fmt.Sprintf("%s-%s-run-%s", p.Name, service, hex.EncodeToString(suffix))
	}
	opts.Config.Labels[LabelOneoff] = "True"
	delete(opts.Config.Labels, LabelNumber)
	if len(o.Command) > 0 {
		opts.Config.Cmd = o.Command
	}
	if o.Entrypoint != nil {
		opts.Config.EntrypointSet, opts.Config.Entrypoint = true, o.Entrypoint
	}
	opts.Config.Env = append(opts.Config.Env, o.Env...)
	if o.User != "" {
		opts.Config.User = o.User
	}
	if o.WorkingDir != "" {
		opts.Config.WorkingDir = o.WorkingDir
	}
	opts.Config.Tty, opts.Config.OpenStdin = o.Tty, true
	opts.HostConfig.AutoRemove = o.Rm
	if o.Rm {
		opts.HostConfig.RestartPolicy = container.RestartPolicy{}
	}
	c, err := b.Containers.Create(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("compose: service %s: %w", service, err)
	}
	if err := connectOthers(ctx, b, p, s, c.ID); err != nil {
		b.Containers.Remove(ctx, c.ID, true, true)
		return nil, err
	}
	return c, nil
}
