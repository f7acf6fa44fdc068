package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/monitor"
	"berth.dev/berth/internal/oci"
	"berth.dev/berth/internal/runtime"
)

// hub is the monitor's set of attached clients.
type hub struct {
	mu      sync.Mutex // guards clients, first and proc
	clients map[net.Conn]*monitor.Writer
	first   chan struct{} // closed when the first client connects
	proc    runtime.Process
	stdin   chan []byte // nil data: EOF
	console *os.File
}

func newHub() *hub {
	return &hub{clients: map[net.Conn]*monitor.Writer{}, first: make(chan struct{}), stdin: make(chan []byte, 64)}
}

func (h *hub) add(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) == 0 {
		select {
		case <-h.first:
		default:
			close(h.first)
		}
	}
	h.clients[c] = monitor.NewWriter(c)
}

func (h *hub) remove(c net.Conn) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.Close()
}

func (h *hub) broadcast(k monitor.Kind, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c, w := range h.clients {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := w.Write(k, p); err != nil {
			delete(h.clients, c)
			c.Close()
		}
	}
}

func (h *hub) setProcess(p runtime.Process, console *os.File) {
	h.mu.Lock()
	h.proc, h.console = p, console
	h.mu.Unlock()
}

// serve reads a client's frames.
func (h *hub) serve(c net.Conn) {
	defer h.remove(c)
	for {
		k, p, err := monitor.ReadFrame(c)
		if err != nil {
			return
		}
		switch k {
		case monitor.Stdin:
			h.stdin <- p
		case monitor.StdinEOF:
			h.stdin <- nil
		case monitor.Resize:
			h.mu.Lock()
			if h.console != nil && len(p) == 4 {
				ws := &unix.Winsize{Row: uint16(p[0])<<8 | uint16(p[1]), Col: uint16(p[2])<<8 | uint16(p[3])}
				unix.IoctlSetWinsize(int(h.console.Fd()), unix.TIOCSWINSZ, ws)
			}
			h.mu.Unlock()
		case monitor.Signal:
			h.mu.Lock()
			if h.proc != nil {
				h.proc.Signal(syscall.Signal(monitor.Uint32(p)))
			}
			h.mu.Unlock()
		case monitor.Detach:
			return
		}
	}
}

// Monitor runs in `berth monitor ID`: it is the parent of the container,
// writes its log, serves its socket, records its exit and applies the
// restart policy, then exits.
func (s *Service) Monitor(ctx context.Context, id string) error {
	go runtime.PrimeCgroupAttach()
	return s.monitor(ctx, id, nil)
}

// monitor is Monitor with first, when not nil, as its first client (the
// connection of MonitorAhead).
func (s *Service) monitor(ctx context.Context, id string, first net.Conn) error {
	c, err := s.store.get(id)
	if err != nil {
		return err
	}
	run := s.store.runPath(id)
	if err := os.MkdirAll(run, 0o700); err != nil {
		return err
	}
	lock, err := lockfile.TryAcquire(filepath.Join(run, "monitor.lock"), lockfile.Exclusive)
	if err != nil {
		return fmt.Errorf("container %s already has a monitor: %w", id, err)
	}
	defer lock.Unlock()
	os.Remove(filepath.Join(run, "stopped"))
	sock := filepath.Join(run, "monitor.sock")
	var ln net.Listener
	if fd := os.Getenv(monitorListenEnv); fd != "" {
		os.Unsetenv(monitorListenEnv)
		n, _ := strconv.Atoi(fd)
		f := os.NewFile(uintptr(n), "monitor.sock")
		ln, err = net.FileListener(f)
		f.Close()
	} else {
		os.Remove(sock)
		ln, err = listenUnix(sock)
	}
	if err != nil {
		return fmt.Errorf("monitor %s: %w", id, err)
	}
	defer os.Remove(sock)
	defer ln.Close()
	h := newHub()
	if first != nil {
		h.add(first)
		go h.serve(first)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.add(conn)
			go h.serve(conn)
		}
	}()
	logw, err := monitor.OpenLog(s.store.path(id, id+"-json.log"))
	if err != nil {
		return err
	}
	defer logw.Close()
	rt, err := s.opts.Runtimes(c.HostConfig.Runtime)
	if err != nil {
		return s.failStart(id, h, err)
	}
	// The CLI that started us attaches first, so that no output is lost.
	select {
	case <-h.first:
	case <-time.After(5 * time.Second):
	}
	st, _ := s.store.state(id)
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		// The record again: network connect may have changed it.
		if fresh, err := s.store.get(id); err == nil {
			c = fresh
		}
		code, err := s.runOnce(ctx, c, rt, h, logw, &st)
		if err != nil {
			return s.failStart(id, h, err)
		}
		if !s.shouldRestart(c, st, code) {
			break
		}
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		st.Status = StatusRestarting
		s.store.saveState(id, st)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		if _, err := os.Stat(filepath.Join(run, "stopped")); err == nil || ctx.Err() != nil {
			st.Status = StatusExited
			s.store.saveState(id, st)
			break
		}
		backoff = min(backoff*2, time.Minute)
		st.RestartCount++
	}
	if c.HostConfig.AutoRemove {
		// Removed before the exit is reported, so that `run --rm` returns
		// with nothing left behind (the runtime state and the mount are
		// already gone).
		err := s.removeDir(context.Background(), id)
		if err == nil {
			err = s.removeAnonymousVolumes(context.Background(), c)
		}
		if derr := s.detachNetworks(context.Background(), c); err == nil {
			err = derr
		}
		if err != nil {
			s.store.saveState(id, st) // the exit, for what is left
		}
		h.broadcast(monitor.Exit, u32(uint32(st.ExitCode)))
		return err
	}
	h.broadcast(monitor.Exit, u32(uint32(st.ExitCode)))
	return nil
}

func u32(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func (s *Service) failStart(id string, h *hub, err error) error {
	st, _ := s.store.state(id)
	st.Status, st.Error, st.ExitCode = StatusExited, err.Error(), exitCodeOf(err)
	if st.FinishedAt.IsZero() || st.Status != StatusRunning {
		st.FinishedAt = time.Now().UTC()
	}
	s.store.saveState(id, st)
	h.broadcast(monitor.Failed, []byte(err.Error()))
	return err
}

// exitCodeOf is Docker's code for a container that could not start: 127
// for a command not found, 126 for one that cannot be executed, else 125.
func exitCodeOf(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no such file or directory") || strings.Contains(msg, "executable file not found"):
		return 127
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "exec format error"):
		return 126
	}
	return 125
}

func (s *Service) shouldRestart(c *Container, st State, code int) bool {
	if _, err := os.Stat(s.store.runPath(c.ID, "stopped")); err == nil {
		return false
	}
	switch p := c.HostConfig.RestartPolicy; p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || st.RestartCount < p.MaximumRetryCount)
	}
	return false
}

// runOnce mounts the root filesystem, starts the container, streams its
// output and waits for it; it returns the exit code, or an error if it
// could not start.
func (s *Service) runOnce(ctx context.Context, c *Container, rt runtime.Runtime, h *hub, logw *monitor.LogWriter, st *State) (int, error) {
	id := c.ID
	t0 := time.Now()
	rootfs := s.store.path(id, "rootfs")
	if err := mountRootfs(c.Layers, s.store.path(id, "upper"), s.store.path(id, "work"), rootfs); err != nil {
		return 0, err
	}
	defer unmount(rootfs)
	img, err := s.opts.Images.Store().Get(c.ImageID)
	if err != nil {
		return 0, fmt.Errorf("image of container %s: %w", id, err)
	}
	cfg, rawConfig, err := s.opts.Images.Config(img)
	if err != nil {
		return 0, err
	}
	opts := s.runOptions(c, rootfs)
	mounts, propagation, err := s.mountSpecs(ctx, c, rootfs)
	if err != nil {
		return 0, err
	}
	if _, err := s.plumb(ctx, c); err != nil {
		return 0, err
	}
	removing := false // a --rm container's last exit
	defer func() { s.unplumbExited(context.Background(), c, removing) }()
	if shared, err := s.sharedNetNS(c.HostConfig.NetworkMode); err != nil {
		return 0, err
	} else if shared != "" {
		opts.NetNSPath = shared
	}
	opts.Mounts = append(opts.Mounts, mounts...)
	spec, err := oci.Generate(cfg.Config, opts, readUsers([]string{rootfs}))
	if err != nil {
		return 0, err
	}
	if propagation != "" {
		spec.Linux.RootfsPropagation = propagation
	}
	for _, u := range c.HostConfig.Ulimits {
		spec.Process.Rlimits = append(spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	fitToHost(spec, cfg.Architecture)
	bundle := s.store.path(id, "bundle")
	if err := writeBundle(bundle, spec); err != nil {
		return 0, err
	}
	rt.Delete(ctx, id, true) // leftovers of a killed monitor
	// The runtime's cgroup moves come next: keep the kernel's cgroup
	// attach lock warm for them (see runtime.PrimeCgroupAttach).
	go runtime.PrimeCgroupAttach()

	var stdio runtime.Stdio
	var closeAfterStart []*os.File
	var outR, errR, inW *os.File
	if c.Config.Tty {
		stdio.Terminal = true
	} else {
		var w1, w2 *os.File
		if outR, w1, err = os.Pipe(); err != nil {
			return 0, err
		}
		if errR, w2, err = os.Pipe(); err != nil {
			return 0, err
		}
		stdio.Stdout, stdio.Stderr = w1, w2
		closeAfterStart = append(closeAfterStart, w1, w2)
		if c.Config.OpenStdin {
			var r *os.File
			if r, inW, err = os.Pipe(); err != nil {
				return 0, err
			}
			stdio.Stdin = r
			closeAfterStart = append(closeAfterStart, r)
		}
	}
	tStart := time.Now()
	p, err := rt.Start(ctx, id, bundle, stdio)
	s.log.Debug("container started", "container", id, "prepare", tStart.Sub(t0), "runtime", time.Since(tStart))
	for _, f := range closeAfterStart {
		f.Close()
	}
	if err != nil {
		if outR != nil {
			outR.Close()
			errR.Close()
		}
		rt.Delete(ctx, id, true)
		return 0, err
	}
	console := p.Console()
	h.setProcess(p, console)
	hc := healthConfig(c, rawConfig)
	stateMu.Lock()
	*st = State{Status: StatusRunning, Pid: p.Pid(), MonitorPid: os.Getpid(), StartedAt: time.Now().UTC(), RestartCount: st.RestartCount}
	if hc != nil {
		// Known from the first state written: a waiter never sees a
		// running container without its health.
		st.Health = &Health{Status: HealthStarting, Log: []HealthResult{}}
	}
	err = s.store.saveRunning(id, *st)
	stateMu.Unlock()
	hctx, stopHealth := context.WithCancel(ctx)
	var health sync.WaitGroup
	if hc != nil {
		health.Add(1)
		go func() {
			defer health.Done()
			s.checkHealth(hctx, id, rt, *spec.Process, hc, st)
		}()
	}
	if err != nil {
		s.log.Error("save state", "container", id, "err", err)
	}
	h.broadcast(monitor.Ready, u32(uint32(p.Pid())))
	// Trimming right away would delay noticing a short container's exit
	// and fault the paged-out code straight back in for the cleanup.
	trim := time.AfterFunc(trimDelay, trimMemory)

	var copies sync.WaitGroup
	pump := func(r io.Reader, stream string, kind monitor.Kind) {
		defer copies.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				logw.Write(stream, buf[:n])
				h.broadcast(kind, buf[:n])
			}
			if err != nil {
				return
			}
		}
	}
	var stdinDst io.WriteCloser
	if console != nil {
		copies.Add(1)
		go pump(console, "stdout", monitor.Stdout)
		stdinDst = console
	} else {
		copies.Add(2)
		go pump(outR, "stdout", monitor.Stdout)
		go pump(errR, "stderr", monitor.Stderr)
		if inW != nil {
			stdinDst = inW
		}
	}
	stopStdin := make(chan struct{})
	go func() {
		for {
			select {
			case data := <-h.stdin:
				if stdinDst == nil {
					continue
				}
				if data == nil {
					if console == nil {
						stdinDst.Close()
					} else {
						stdinDst.Write([]byte{4}) // ^D on a terminal
					}
					continue
				}
				stdinDst.Write(data)
			case <-stopStdin:
				return
			}
		}
	}()
	code, werr := p.Wait()
	trim.Stop()
	stopHealth()
	health.Wait()
	if werr != nil {
		s.log.Warn("wait", "container", id, "err", werr)
	}
	tExit := time.Now()
	oom, _ := rt.OOMKilled(ctx, id)
	if console != nil {
		// The pty master gives EIO once the last slave closes.
		go func() { time.Sleep(2 * time.Second); console.Close() }()
	}
	copies.Wait()
	close(stopStdin)
	if outR != nil {
		outR.Close()
		errR.Close()
	}
	if inW != nil {
		inW.Close()
	}
	h.setProcess(nil, nil)
	if err := rt.Delete(ctx, id, true); err != nil {
		s.log.Warn("delete runtime state", "container", id, "err", err)
	}
	s.log.Debug("container cleaned up", "container", id, "cleanup", time.Since(tExit))
	st.Status, st.Pid, st.ExitCode, st.FinishedAt, st.OOMKilled = StatusExited, 0, code, time.Now().UTC(), oom
	if c.HostConfig.AutoRemove && !s.shouldRestart(c, *st, code) {
		// Removed next: the record is written only if that fails.
		removing = true
		return code, nil
	}
	if err := s.store.saveState(id, *st); err != nil {
		s.log.Error("save state", "container", id, "err", err)
	}
	return code, nil
}

// mountRootfs mounts the overlay of the image's layers (top first) with the
// container's own upper and work dirs.
func mountRootfs(layers []string, upper, work, target string) error {
	if len(layers) == 0 {
		return errdefs.New(errdefs.ErrInvalidArgument, "image has no layers")
	}
	unmount(target) // a killed monitor's mount
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(layers, ":"), upper, work)
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount root filesystem: %w", err)
	}
	return nil
}

func unmount(target string) {
	for {
		if err := unix.Unmount(target, 0); err != nil {
			if errors.Is(err, unix.EBUSY) {
				unix.Unmount(target, unix.MNT_DETACH)
			}
			return
		}
	}
}

// writeBundle writes the runtime bundle's config.json. It is made anew
// before every start, so it needs no fsync: a file torn by a crash is
// never read again.
func writeBundle(dir string, spec *specs.Spec) error {
	data, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}
