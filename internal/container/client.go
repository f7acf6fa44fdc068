package container

import (
	"context"
	"errors"
	"fmt"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/monitor"
	"berth.dev/berth/internal/oci"
	"berth.dev/berth/internal/runtime"
)

// View is a container with its state re-derived now.
type View struct {
	*Container
	State State
}

// Get finds a container by ID, name or ID prefix, with its current state.
func (s *Service) Get(ctx context.Context, ref string) (*View, error) {
	c, err := s.store.lookup(ref)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, c), nil
}

// List returns every container, newest first, with its current state.
func (s *Service) List(ctx context.Context) ([]*View, error) {
	all, err := s.store.list()
	if err != nil {
		return nil, err
	}
	out := make([]*View, len(all))
	for i, c := range all {
		out[i] = s.view(ctx, c)
	}
	return out, nil
}

// view re-derives the state: a running container whose monitor is gone is
// exited unless its process still runs.
func (s *Service) view(ctx context.Context, c *Container) *View {
	st, err := s.store.state(c.ID)
	if err != nil {
		st = State{Status: StatusDead, Error: err.Error()}
	}
	switch st.Status {
	case StatusRunning, StatusPaused, StatusRestarting:
		if !s.store.monitorAlive(c.ID) {
			if rt, err := s.opts.Runtimes(c.HostConfig.Runtime); err == nil {
				if rs, err := rt.State(ctx, c.ID); err == nil && (rs.Status == "running" || rs.Status == "paused") {
					st.Status, st.Pid = rs.Status, rs.Pid
					return &View{Container: c, State: st}
				}
			}
			st.Status, st.Pid = StatusExited, 0
			if st.ExitCode == 0 {
				st.ExitCode = 137 // its monitor died with it: report it as killed
			}
			if st.FinishedAt.IsZero() {
				st.FinishedAt = time.Now().UTC()
			}
			st.Error = "the container's monitor is gone"
		}
	}
	return &View{Container: c, State: st}
}

// Attachment is a client connection to a container's monitor.
type Attachment struct {
	conn net.Conn
	w    *monitor.Writer
}

// Start starts the container ref (created or stopped): it starts its
// monitor and waits until the container runs. The returned attachment
// streams its output until Close; callers that only start it close it at
// once.
func (s *Service) Start(ctx context.Context, ref string) (*View, *Attachment, error) {
	go runtime.PrimeCgroupAttach()
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	switch v.State.Status {
	case StatusRunning, StatusRestarting:
		return v, nil, nil // Docker: starting a running container is a no-op
	case StatusPaused:
		return nil, nil, errdefs.New(errdefs.ErrConflict, "cannot start a paused container, try unpause instead")
	}
	if s.store.monitorAlive(v.ID) {
		// A monitor that reported its container's exit is finishing.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.waitMonitorGone(wctx, v.ID)
		cancel()
		if s.store.monitorAlive(v.ID) {
			return nil, nil, errdefs.New(errdefs.ErrConflict, "container %s is being started or stopped", v.ID[:12])
		}
	}
	if err := s.spawnMonitor(v.ID); err != nil {
		return nil, nil, err
	}
	a, err := s.dial(ctx, v.ID, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return s.awaitStart(ctx, v.ID, a)
}

// awaitStart reads the monitor's first frame, which says whether the
// container started.
func (s *Service) awaitStart(ctx context.Context, id string, a *Attachment) (*View, *Attachment, error) {
	for {
		k, p, err := monitor.ReadFrame(a.conn)
		if err != nil {
			a.Close()
			return nil, nil, fmt.Errorf("start container %s: the monitor exited: %s", id[:12], s.monitorLogTail(id))
		}
		switch k {
		case monitor.Ready:
			v, err := s.Get(ctx, id)
			return v, a, err
		case monitor.Failed:
			a.Close()
			st, _ := s.store.state(id)
			return nil, nil, &StartError{Msg: string(p), ExitCode: st.ExitCode}
		}
	}
}

// StartError is a container that could not start; ExitCode is Docker's
// (125, 126 or 127).
type StartError struct {
	Msg      string
	ExitCode int
}

func (e *StartError) Error() string { return e.Msg }

func (s *Service) monitorLogTail(id string) string {
	data, _ := os.ReadFile(s.store.runPath(id, "monitor.log"))
	if len(data) > 400 {
		data = data[len(data)-400:]
	}
	if len(data) == 0 {
		return "no message"
	}
	return string(data)
}

// dial connects to the container's monitor socket, waiting up to timeout
// for it to appear.
func (s *Service) dial(ctx context.Context, id string, timeout time.Duration) (*Attachment, error) {
	sock := s.store.runPath(id, "monitor.sock")
	deadline := time.Now().Add(timeout)
	for {
		conn, err := dialUnix(ctx, sock)
		if err == nil {
			return &Attachment{conn: conn, w: monitor.NewWriter(conn)}, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to the monitor of %s: %w (%s)", id[:12], err, s.monitorLogTail(id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Attach connects to a running container's monitor.
func (s *Service) Attach(ctx context.Context, ref string) (*View, *Attachment, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if v.State.Status != StatusRunning && v.State.Status != StatusRestarting {
		return nil, nil, errdefs.New(errdefs.ErrConflict, "You cannot attach to a stopped container, start it first")
	}
	a, err := s.dial(ctx, v.ID, time.Second)
	return v, a, err
}

// Close leaves the container running.
func (a *Attachment) Close() error {
	if a == nil {
		return nil
	}
	a.w.Write(monitor.Detach, nil)
	return a.conn.Close()
}

// SendStdin forwards data to the container's stdin; nil data closes it.
func (a *Attachment) SendStdin(data []byte) error {
	if data == nil {
		return a.w.Write(monitor.StdinEOF, nil)
	}
	return a.w.Write(monitor.Stdin, data)
}

// Resize sets the container terminal's size.
func (a *Attachment) Resize(rows, cols uint16) error {
	return a.w.Write(monitor.Resize, []byte{byte(rows >> 8), byte(rows), byte(cols >> 8), byte(cols)})
}

// Signal asks the monitor to signal the container's process.
func (a *Attachment) Signal(sig syscall.Signal) error {
	return a.w.WriteUint32(monitor.Signal, uint32(sig))
}

// Stream copies the container's output to stdout and stderr until it exits
// and returns its exit code. ErrDetached means the connection ended first.
func (a *Attachment) Stream(stdout, stderr io.Writer) (int, error) {
	for {
		k, p, err := monitor.ReadFrame(a.conn)
		if err != nil {
			return 0, ErrDetached
		}
		switch k {
		case monitor.Stdout:
			stdout.Write(p)
		case monitor.Stderr:
			stderr.Write(p)
		case monitor.Exit:
			return int(monitor.Uint32(p)), nil
		case monitor.Failed:
			return 125, errors.New(string(p))
		}
	}
}

// ErrDetached is returned by Stream when the connection closed before the
// container exited.
var ErrDetached = errors.New("detached from the container")

// Wait blocks until the container exits and returns its exit code.
func (s *Service) Wait(ctx context.Context, ref string) (int, error) {
	for {
		v, err := s.Get(ctx, ref)
		if err != nil {
			return 0, err
		}
		switch v.State.Status {
		case StatusExited, StatusCreated, StatusDead:
			return v.State.ExitCode, nil
		}
		if a, err := s.dial(ctx, v.ID, 0); err == nil {
			// The stream ends with the container; ctx ends the wait first.
			stop := context.AfterFunc(ctx, func() { a.conn.Close() })
			code, err := a.Stream(io.Discard, io.Discard)
			stop()
			a.conn.Close()
			if err == nil {
				return code, nil
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends sig to the container's process.
func (s *Service) Kill(ctx context.Context, ref string, sig syscall.Signal) (*View, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if v.State.Status != StatusRunning && v.State.Status != StatusPaused && v.State.Status != StatusRestarting {
		return nil, errdefs.New(errdefs.ErrConflict, "Cannot kill container: %s: container %s is not running", ref, v.ID)
	}
	rt, err := s.opts.Runtimes(v.HostConfig.Runtime)
	if err != nil {
		return nil, err
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		s.markStopped(v.ID) // a kill by the user is not a failure to restart from
	}
	if err := rt.Signal(ctx, v.ID, sig, false); err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("kill container %s: %w", v.ID[:12], err)
	}
	return v, nil
}

func (s *Service) markStopped(id string) {
	os.MkdirAll(s.store.runPath(id), 0o700)
	os.WriteFile(s.store.runPath(id, "stopped"), nil, 0o600)
}

// Stop sends the stop signal, waits up to timeout, then SIGKILL; Docker's
// stop. A negative timeout waits forever. Signal 0 means the container's
// stop signal (--stop-signal, else the image's STOPSIGNAL, else SIGTERM).
func (s *Service) Stop(ctx context.Context, ref string, timeout time.Duration, sig syscall.Signal) error {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	if sig == 0 {
		sig = syscall.SIGTERM
		var imgCfg ocispec.ImageConfig
		if img, err := s.opts.Images.Store().Get(v.ImageID); err == nil {
			if cfg, _, err := s.opts.Images.Config(img); err == nil {
				imgCfg = cfg.Config
			}
		}
		if ss, err := oci.StopSignal(imgCfg, v.Config.StopSignal); err == nil {
			sig = syscall.Signal(ss)
		}
	}
	if v.State.Status != StatusRunning && v.State.Status != StatusPaused && v.State.Status != StatusRestarting {
		return nil
	}
	s.markStopped(v.ID)
	rt, err := s.opts.Runtimes(v.HostConfig.Runtime)
	if err != nil {
		return err
	}
	if v.State.Status == StatusPaused {
		rt.Resume(ctx, v.ID)
	}
	rt.Signal(ctx, v.ID, sig, false)
	wctx := ctx
	if timeout >= 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if _, err := s.Wait(wctx, v.ID); err == nil {
		return nil
	}
	rt.Signal(ctx, v.ID, syscall.SIGKILL, true)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = s.Wait(wctx, v.ID)
	return err
}

// Pause freezes the container; Resume thaws it.
func (s *Service) Pause(ctx context.Context, ref string, pause bool) error {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	rt, err := s.opts.Runtimes(v.HostConfig.Runtime)
	if err != nil {
		return err
	}
	st, _ := s.store.state(v.ID)
	if pause {
		if v.State.Status != StatusRunning {
			return errdefs.New(errdefs.ErrConflict, "Container %s is not running", v.ID)
		}
		if err := rt.Pause(ctx, v.ID); err != nil {
			return err
		}
		st.Status = StatusPaused
	} else {
		if v.State.Status != StatusPaused {
			return errdefs.New(errdefs.ErrConflict, "Container %s is not paused", v.ID)
		}
		if err := rt.Resume(ctx, v.ID); err != nil {
			return err
		}
		st.Status = StatusRunning
	}
	return s.store.saveState(v.ID, st)
}

// Remove deletes a container; a running one only with force (killed first).
//
// With volumes, the container's anonymous volumes go too (rm -v); named
// volumes always stay.
func (s *Service) Remove(ctx context.Context, ref string, force, volumes bool) (string, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return "", err
	}
	switch v.State.Status {
	case StatusRunning, StatusPaused, StatusRestarting:
		if !force {
			return "", errdefs.New(errdefs.ErrConflict, "cannot remove container \"/%s\": container is running: stop the container before removing or force remove", v.Name)
		}
		s.markStopped(v.ID)
		if rt, err := s.opts.Runtimes(v.HostConfig.Runtime); err == nil {
			rt.Resume(ctx, v.ID)
			rt.Signal(ctx, v.ID, syscall.SIGKILL, true)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		s.waitMonitorGone(wctx, v.ID)
		cancel()
	}
	c, err := s.store.get(v.ID)
	if err != nil {
		return "", err
	}
	if err := s.removeFiles(ctx, v.ID); err != nil {
		return v.ID, err
	}
	s.unplumb(ctx, c) // a killed monitor's namespace, veths and rules
	if err := s.detachNetworks(ctx, c); err != nil {
		s.log.Warn("release network resources", "container", v.ID, "err", err)
	}
	if volumes {
		return v.ID, s.removeAnonymousVolumes(ctx, c)
	}
	return v.ID, nil
}

func (s *Service) waitMonitorGone(ctx context.Context, id string) {
	for s.store.monitorAlive(id) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// removeFiles removes the container's runtime state, mounts and files.
func (s *Service) removeFiles(ctx context.Context, id string) error {
	c, err := s.store.get(id)
	if err != nil {
		return err
	}
	if rt, err := s.opts.Runtimes(c.HostConfig.Runtime); err == nil {
		rt.Delete(ctx, id, true)
	}
	unmount(s.store.path(id, "rootfs"))
	return s.removeDir(ctx, id)
}

// removeDir removes the container's directories once nothing runs or is
// mounted there.
func (s *Service) removeDir(ctx context.Context, id string) error {
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	trash := s.store.path(id) + ".removing"
	if err := os.Rename(s.store.path(id), trash); err != nil {
		return fmt.Errorf("remove container %s: %w", id[:12], err)
	}
	os.RemoveAll(s.store.runPath(id))
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove container %s: %w", id[:12], err)
	}
	return nil
}

// Sweep removes half-created and half-removed container directories.
func (s *Service) Sweep(ctx context.Context) error {
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	ents, err := os.ReadDir(s.store.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if n := e.Name(); filepath.Ext(n) == ".creating" || filepath.Ext(n) == ".removing" {
			unmount(filepath.Join(s.store.dir, n, "rootfs"))
			os.RemoveAll(filepath.Join(s.store.dir, n))
		}
	}
	return nil
}

// LogPath is the container's json-file log.
func (s *Service) LogPath(id string) string { return s.store.path(id, id+"-json.log") }

// UsesImage reports whether a container was created from image id.
func (s *Service) UsesImage(id digest.Digest) bool {
	all, err := s.store.list()
	if err != nil {
		return true // when in doubt, keep the image
	}
	for _, c := range all {
		if c.ImageID == id {
			return true
		}
	}
	return false
}

// Rename gives the container ref a new, unused name.
func (s *Service) Rename(ctx context.Context, ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if !validName.MatchString(name) {
		return errdefs.New(errdefs.ErrInvalidArgument, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	c, err := s.store.lookup(ref)
	if err != nil {
		return err
	}
	all, err := s.store.list()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Name == name && o.ID != c.ID {
			return errdefs.New(errdefs.ErrConflict, "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, o.ID)
		}
	}
	c.Name = name
	return atomicfile.WriteJSON(s.store.path(c.ID, "config.json"), c, 0o600)
}

// Stats returns the container's cgroup figures.
func (s *Service) Stats(ctx context.Context, ref string) (*View, *runtime.Stats, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if v.State.Status != StatusRunning && v.State.Status != StatusPaused {
		return v, &runtime.Stats{}, nil
	}
	rt, err := s.opts.Runtimes(v.HostConfig.Runtime)
	if err != nil {
		return nil, nil, err
	}
	st, err := rt.Stats(ctx, v.ID)
	return v, st, err
}

// Processes lists the PIDs (host view) of the processes in the running
// container ref: those in its PID namespace.
func (s *Service) Processes(ctx context.Context, ref string) (*View, []int, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if v.State.Status != StatusRunning && v.State.Status != StatusPaused {
		return nil, nil, errdefs.New(errdefs.ErrConflict, "Container %s is not running", v.ID)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", v.State.Pid))
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: %w", v.ID[:12], err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return v, pids, nil
}
