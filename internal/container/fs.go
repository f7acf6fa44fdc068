package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/archive"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
)

// CommitOptions are `docker commit`'s.
type CommitOptions struct {
	Ref             string // REPOSITORY[:TAG]; empty leaves the image untagged
	Author, Comment string
	Changes         []string // Dockerfile instructions (-c)
	// Pause freezes a running container while its layer is read (Docker's
	// default).
	Pause bool
}

// Commit makes an image of the container's own changes on top of its image,
// as `docker commit` does: the overlay upper directory becomes a layer
// (whiteouts back in OCI form), leaving out everything under the
// container's volume, bind and tmpfs mounts. The container's config (its
// command, environment, working dir, user, labels) becomes the image's,
// then Changes apply.
func (s *Service) Commit(ctx context.Context, ref string, opts CommitOptions) (*image.Image, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	parent, err := s.opts.Images.Store().Get(v.ImageID)
	if err != nil {
		return nil, fmt.Errorf("commit %s: image %s: %w", v.Name, v.ImageID, err)
	}
	cfg, _, err := s.opts.Images.Config(parent)
	if err != nil {
		return nil, err
	}
	if opts.Pause && v.State.Status == StatusRunning {
		if err := s.Pause(ctx, v.ID, true); err != nil {
			return nil, err
		}
		defer s.Pause(context.Background(), v.ID, false)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := archive.Diff(ctx, pw, s.store.path(v.ID, "upper"), archive.DiffOptions{Exclude: v.excluded()})
		pw.CloseWithError(err)
	}()
	img, err := s.opts.Images.Commit(ctx, pr, image.CommitOptions{
		Parent:    parent,
		Config:    commitConfig(cfg.Config, v.Container),
		Changes:   opts.Changes,
		Ref:       opts.Ref,
		Author:    opts.Author,
		Comment:   opts.Comment,
		CreatedBy: strings.Join(v.CommandLine(), " "),
	})
	pr.CloseWithError(err)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", v.Name, err)
	}
	return img, nil
}

// commitConfig is the image config a container was run with: the image's,
// with the container's own settings over it.
func commitConfig(base ocispec.ImageConfig, c *Container) *ocispec.ImageConfig {
	out := base
	out.Env = append([]string(nil), base.Env...)
	for _, e := range c.Config.Env {
		k, val, ok := strings.Cut(e, "=")
		i := -1
		for j, b := range out.Env {
			if bk, _, _ := strings.Cut(b, "="); bk == k {
				i = j
			}
		}
		switch {
		case !ok && i >= 0: // a bare KEY unsets it
			out.Env = append(out.Env[:i], out.Env[i+1:]...)
		case ok && i >= 0:
			out.Env[i] = k + "=" + val
		case ok:
			out.Env = append(out.Env, e)
		}
	}
	if c.Config.EntrypointSet {
		out.Entrypoint = c.Config.Entrypoint
		out.Cmd = nil
	}
	if len(c.Config.Cmd) > 0 {
		out.Cmd = c.Config.Cmd
	}
	if c.Config.WorkingDir != "" {
		out.WorkingDir = c.Config.WorkingDir
	}
	if c.Config.User != "" {
		out.User = c.Config.User
	}
	if c.Config.StopSignal != "" {
		out.StopSignal = c.Config.StopSignal
	}
	if len(c.Config.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range base.Labels {
			labels[k] = v
		}
		for k, v := range c.Config.Labels {
			labels[k] = v
		}
		out.Labels = labels
	}
	return &out
}

// initPaths are made in a container's upper directory only as mount points
// of what berth mounts over them (Docker keeps them in a separate "init"
// layer): they are never part of diff or commit.
var initPaths = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev", "/proc", "/sys", "/sbin/berth-init"}

// excluded are the container paths diff and commit leave out.
func (c *Container) excluded() []string {
	return append(c.mountDestinations(), initPaths...)
}

// Changes lists what the container changed in its root filesystem, as
// `docker diff` shows it; changes under its mounts are not part of it.
func (s *Service) Changes(ctx context.Context, ref string) ([]archive.Change, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	all, err := archive.Changes(s.store.path(v.ID, "upper"), v.Layers)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", v.Name, err)
	}
	excluded := v.excluded()
	var kept []archive.Change
	dropped := map[string]bool{}
	for _, ch := range all {
		if underAny(ch.Path, excluded) {
			dropped[filepath.Dir(ch.Path)] = true
			continue
		}
		kept = append(kept, ch)
	}
	// A directory that shows as changed only because a mount point was
	// made in it is not a change either.
	out := kept[:0]
	for i, ch := range kept {
		if ch.Kind == archive.ChangeModify && dropped[ch.Path] && !(i+1 < len(kept) && strings.HasPrefix(kept[i+1].Path, ch.Path+"/")) {
			continue
		}
		out = append(out, ch)
	}
	return out, nil
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// Export writes the container's root filesystem as a tar stream, as `docker
// export` does: its image with its changes, without its volumes and mounts.
func (s *Service) Export(ctx context.Context, ref string, w io.Writer) error {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	dir, done, err := s.viewRootfs(v)
	if err != nil {
		return err
	}
	defer done()
	if err := archive.Tar(ctx, w, dir, archive.TarOptions{}); err != nil {
		return fmt.Errorf("export %s: %w", v.Name, err)
	}
	return nil
}

// viewRootfs mounts a read-only view of the container's root filesystem:
// its upper directory over its image's layers. The container may run
// meanwhile; the view needs no work dir, so it never conflicts with the
// container's own mount.
func (s *Service) viewRootfs(v *View) (string, func(), error) {
	dir, err := os.MkdirTemp(s.store.path(v.ID), "view-")
	if err != nil {
		return "", nil, fmt.Errorf("mount view of %s: %w", v.Name, err)
	}
	lowers := append([]string{s.store.path(v.ID, "upper")}, v.Layers...)
	if err := unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lowers, ":")); err != nil {
		os.Remove(dir)
		return "", nil, fmt.Errorf("mount view of %s: %w", v.Name, err)
	}
	return dir, func() {
		unix.Unmount(dir, unix.MNT_DETACH)
		os.Remove(dir)
	}, nil
}

// CopyFrom writes the file or directory at path in the container as a tar
// stream (`docker cp CONTAINER:PATH -`), named by its base name. A path
// under one of the container's volumes or bind mounts is read from there.
// Symlinks are resolved inside the container's root; with followLink, a
// symlink at path itself is followed too (cp -L).
func (s *Service) CopyFrom(ctx context.Context, ref, path string, w io.Writer, followLink bool) error {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(path) {
		path = "/" + path
	}
	dir, done, err := s.viewRootfs(v)
	if err != nil {
		return err
	}
	defer done()
	defer s.freeze(ctx, v)()
	host, err := s.resolveIn(v, dir, path, followLink)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	if name == "/" || name == "." {
		name = ""
	}
	if err := archive.Tar(ctx, w, host, archive.TarOptions{Name: name}); err != nil {
		return fmt.Errorf("copy from %s:%s: %w", v.Name, path, err)
	}
	return nil
}

// CopyTo unpacks the tar stream r into the directory path in the container
// (`docker cp - CONTAINER:PATH`), with the same checks as a layer: no
// entry lands outside the target. A path under a volume or bind mount is
// written there. The container may be stopped or running.
func (s *Service) CopyTo(ctx context.Context, ref, path string, r io.Reader) error {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(path) {
		path = "/" + path
	}
	base, rel, release, err := s.writableBase(v, path)
	if err != nil {
		return err
	}
	defer release()
	defer s.freeze(ctx, v)()
	// The destination resolves inside base, symlinks included (absolute
	// ones against the container's /): nothing outside base is reached.
	destDir, err := securejoin.SecureJoin(base, rel)
	if err != nil {
		return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	fi, err := os.Stat(destDir)
	if err != nil {
		return errdefs.New(errdefs.ErrNotFound, "copy to %s:%s: no such directory", v.Name, path)
	}
	if !fi.IsDir() {
		return errdefs.New(errdefs.ErrInvalidArgument, "copy to %s:%s: not a directory", v.Name, path)
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	defer root.Close()
	rel = "."
	// Unpacked into a staging directory first (Apply wants an empty one),
	// then moved in entry by entry under the root.
	staging, err := os.MkdirTemp(destDir, ".berth-cp-")
	if err != nil {
		return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	defer os.RemoveAll(staging)
	if _, err := archive.Apply(ctx, staging, r); err != nil {
		return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	ents, err := os.ReadDir(staging)
	if err != nil {
		return err
	}
	for _, e := range ents {
		dst := filepath.Join(rel, e.Name())
		if fi, err := root.Lstat(dst); err == nil && fi.IsDir() && e.IsDir() {
			if err := mergeInto(root, filepath.Join(filepath.Base(staging), e.Name()), dst); err != nil {
				return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
			}
			continue
		}
		root.RemoveAll(dst)
		if err := root.Rename(filepath.Join(filepath.Base(staging), e.Name()), dst); err != nil {
			return fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
		}
	}
	return nil
}

// mergeInto moves the entries of directory src into the existing
// directory dst, both inside root, replacing what is there.
func mergeInto(root *os.Root, src, dst string) error {
	f, err := root.Open(src)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		s, d := filepath.Join(src, n), filepath.Join(dst, n)
		sfi, err := root.Lstat(s)
		if err != nil {
			return err
		}
		if dfi, err := root.Lstat(d); err == nil && dfi.IsDir() && sfi.IsDir() {
			if err := mergeInto(root, s, d); err != nil {
				return err
			}
			continue
		}
		root.RemoveAll(d)
		if err := root.Rename(s, d); err != nil {
			return err
		}
	}
	return nil
}

// writableBase finds where a container path is written from the host: the
// source of the mount that covers it, or the container's root filesystem
// (its live mount while it runs, else its overlay mounted for the copy),
// and the path relative to that base; release undoes a mount made here.
func (s *Service) writableBase(v *View, path string) (string, string, func(), error) {
	none := func() {}
	var best *MountPoint
	for i, mp := range v.Mounts {
		if mp.Type != "tmpfs" && underAny(path, []string{mp.Destination}) && (best == nil || len(mp.Destination) > len(best.Destination)) {
			best = &v.Mounts[i]
		}
	}
	if best != nil {
		if !best.RW {
			return "", "", none, errdefs.New(errdefs.ErrForbidden, "copy to %s:%s: mounted read-only", v.Name, path)
		}
		rel, _ := filepath.Rel(best.Destination, path)
		return best.Source, rel, none, nil
	}
	if v.HostConfig.ReadonlyRootfs {
		return "", "", none, errdefs.New(errdefs.ErrForbidden, "copy to %s:%s: container rootfs is marked read-only", v.Name, path)
	}
	rel, _ := filepath.Rel("/", path)
	rootfs := s.store.path(v.ID, "rootfs")
	if isMountPoint(rootfs) {
		return rootfs, rel, none, nil
	}
	// A stopped container: its overlay, mounted for the copy only. A start
	// meanwhile fails to mount it (the work dir is in use) rather than
	// share it.
	dir, err := os.MkdirTemp(s.store.path(v.ID), "cp-")
	if err != nil {
		return "", "", none, fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	if err := mountRootfs(v.Layers, s.store.path(v.ID, "upper"), s.store.path(v.ID, "work"), dir); err != nil {
		os.Remove(dir)
		return "", "", none, fmt.Errorf("copy to %s:%s: %w", v.Name, path, err)
	}
	return dir, rel, func() {
		unmount(dir)
		os.Remove(dir)
	}, nil
}

// resolveIn resolves a container path for reading: through the mount that
// covers it, else inside the view of the root filesystem. Symlinks are
// followed within the base; the last element only with followLink.
func (s *Service) resolveIn(v *View, view, path string, followLink bool) (string, error) {
	base, rel := view, strings.TrimPrefix(filepath.Clean(path), "/")
	for _, mp := range v.Mounts {
		if mp.Type != "tmpfs" && underAny(path, []string{mp.Destination}) && len(mp.Destination) > len(strings.TrimPrefix(base, view)) {
			r, _ := filepath.Rel(mp.Destination, path)
			base, rel = mp.Source, r
		}
	}
	// Symlinks resolve inside base, absolute ones against it (the
	// container's /), never against the host's root. The container is
	// frozen meanwhile (see freeze), so the answer stays true.
	dir, name := filepath.Split(rel)
	parent, err := securejoin.SecureJoin(base, dir)
	if err != nil {
		return "", errdefs.New(errdefs.ErrNotFound, "copy from %s:%s: %v", v.Name, path, err)
	}
	target := filepath.Join(parent, name)
	if followLink && name != "" {
		if target, err = securejoin.SecureJoin(base, rel); err != nil {
			return "", errdefs.New(errdefs.ErrNotFound, "copy from %s:%s: %v", v.Name, path, err)
		}
	}
	if _, err := os.Lstat(target); err != nil {
		return "", errdefs.New(errdefs.ErrNotFound, "copy from %s:%s: no such file or directory", v.Name, path)
	}
	return target, nil
}

func isMountPoint(p string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(p, &st) != nil || unix.Lstat(filepath.Dir(p), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// freeze pauses a running container while cp resolves paths in its
// filesystem and copies, so that it cannot swap a directory for a symlink
// between the check and the use (CVE-2018-15664); it returns the thaw.
func (s *Service) freeze(ctx context.Context, v *View) func() {
	if v.State.Status != StatusRunning || s.Pause(ctx, v.ID, true) != nil {
		return func() {}
	}
	return func() { s.Pause(context.Background(), v.ID, false) }
}
