package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/lockfile"
)

// ExeEnv names the environment variable through which a monitor learns the
// path of the berth binary it was copied from (see monitorExe): it looks
// for berth-init beside that one.
const ExeEnv = "BERTH_EXE"

// binTmpfsSize bounds berth's own tmpfs: room for a few versions of the
// binary while monitors of older ones still run.
const binTmpfsSize = "size=256m"

// monitorExe returns the binary to run a monitor from: a copy of exe in
// <run root>/bin, on a tmpfs.
//
// Why: a monitor lives as long as its container, and once the container
// runs it gives back the pages of the binary that the start touched
// (trimMemory). Linux (6.18 here) keeps an executable on disk in the page
// cache in large folios of up to 2 MiB and maps a whole folio on a fault,
// so a process that touches a few bytes of each keeps nearly all of a
// 21 MiB binary resident, and pages that several monitors map cannot be
// paged out at all: ten monitors stayed at 20 MiB RSS each. tmpfs keeps
// files in small pages (unless the administrator enabled huge pages for
// shmem), so a monitor run from a copy there holds only what it uses:
// 7.2 MiB RSS with ten. The copy costs the binary's size in RAM once,
// shared by every monitor, and is replaced when the binary changes; a
// replaced copy's memory is freed when the last monitor using it exits.
//
// When the run root is not on a tmpfs (/run is one on systemd hosts, not
// on every machine), berth mounts a small one of its own on <run root>/bin,
// as Docker mounts its own things under /run/docker.
//
// Any failure falls back to exe: the copy is only an optimisation.
func monitorExe(runRoot, exe string) string {
	fi, err := os.Stat(exe)
	if err != nil {
		return exe
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return exe
	}
	// The directory names the file version (an upgrade in place changes
	// the mtime, a new file the inode); the copy keeps the name berth, the
	// name ps shows.
	version := fmt.Sprintf("%x-%x-%x-%x", st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano())
	dir := filepath.Join(runRoot, "bin")
	dst := filepath.Join(dir, version, "berth")
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	// Slow path, once per binary version: one caller mounts and copies
	// while concurrent ones wait.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return exe
	}
	lock, err := lockfile.Acquire(context.Background(), dir+".lock", lockfile.Exclusive)
	if err != nil {
		return exe
	}
	defer lock.Unlock()
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	if !isTmpfs(dir) && unix.Mount("berth-bin", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0711,"+binTmpfsSize) != nil {
		return exe
	}
	// Copies of older binaries go (running monitors keep their inode
	// alive), and with them temporary files of killed copies.
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.Name() != version {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o711); err != nil {
		return exe
	}
	if err := copyExe(exe, dst); err != nil {
		return exe
	}
	return dst
}

func isTmpfs(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Type == unix.TMPFS_MAGIC
}

// copyExe copies exe to dst through a temporary file and a rename, so that
// no caller sees a partial file.
func copyExe(exe, dst string) error {
	src, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// startBerth starts `berth <global flags> args...`, detached from this
// process (a session of its own, in /, run from the binary's tmpfs copy:
// see monitorExe): a container's monitor or a network's DNS responder. out
// is its stdout and stderr (nil: /dev/null, as its stdin always is), extra
// its descriptors 3, 4, …, env added to its environment.
func (s *Service) startBerth(args []string, out *os.File, extra []*os.File, env ...string) error {
	if len(s.opts.MonitorCommand) == 0 {
		return errors.New("no berth command configured")
	}
	exe := s.opts.MonitorCommand[0]
	cmd := exec.Command(monitorExe(s.opts.RunRoot, exe), append(append([]string{}, s.opts.MonitorCommand[1:]...), args...)...)
	cmd.Args[0] = exe
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.ExtraFiles = extra
	cmd.Env = append(append(os.Environ(), ExeEnv+"="+exe), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
