package volume

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountVolume mounts the local driver's opts (type, device, o) on dir,
// unless dir is a mount point already. realDir is dir with symlinks
// resolved, as /proc/self/mountinfo shows it. The caller holds the store
// lock, so two Mounts never stack two mounts.
func mountVolume(opts map[string]string, dir, realDir string) error {
	mounted, err := isMountPoint(realDir)
	if err != nil || mounted {
		return err
	}
	typ, device := opts["type"], opts["device"]
	flags, data := parseMountOptions(opts["o"])
	if typ == "nfs" || typ == "nfs4" {
		// The kernel's NFS client wants an address, not a host name (Docker
		// resolves it the same way).
		if addr := mountOption(data, "addr"); addr != "" && net.ParseIP(addr) == nil {
			ip, err := net.ResolveIPAddr("ip", addr)
			if err != nil {
				return fmt.Errorf("resolve nfs address %s: %w", addr, err)
			}
			data = strings.Replace(data, "addr="+addr, "addr="+ip.String(), 1)
		}
	}
	return mount(device, realDir, typ, flags, data)
}

// Propagation flags cannot be combined with others in one mount(2) call.
const (
	propagationTypes = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE
	propagationFlags = propagationTypes | unix.MS_REC | unix.MS_SILENT
	readOnlyBind     = unix.MS_BIND | unix.MS_RDONLY
)

// mount is mount(8) in three steps, as moby/sys/mount does it: the mount,
// then its propagation, then the read-only remount a bind mount needs
// (MS_RDONLY is ignored on the first mount of a bind).
func mount(device, target, typ string, flags uintptr, data string) error {
	what := fmt.Sprintf("mount %s on %s (type %s)", device, target, typ)
	base := flags &^ propagationTypes
	if err := unix.Mount(device, target, typ, base, data); err != nil {
		return fmt.Errorf("%s: %w", what, err) // data is left out: it may hold a password
	}
	if flags&propagationTypes != 0 {
		if err := unix.Mount("", target, "", flags&propagationFlags, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("%s: set propagation: %w", what, err)
		}
	}
	if base&readOnlyBind == readOnlyBind {
		if err := unix.Mount("", target, "", base|unix.MS_REMOUNT, ""); err != nil {
			unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("%s: remount read-only: %w", what, err)
		}
	}
	return nil
}

// mountFlags are mount(8)'s flag options: the flag, and whether the option
// clears it.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"suid":          {true, unix.MS_NOSUID},
	"nosuid":        {false, unix.MS_NOSUID},
	"dev":           {true, unix.MS_NODEV},
	"nodev":         {false, unix.MS_NODEV},
	"exec":          {true, unix.MS_NOEXEC},
	"noexec":        {false, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"unbindable":    {false, unix.MS_UNBINDABLE},
	"runbindable":   {false, unix.MS_UNBINDABLE | unix.MS_REC},
	"private":       {false, unix.MS_PRIVATE},
	"rprivate":      {false, unix.MS_PRIVATE | unix.MS_REC},
	"shared":        {false, unix.MS_SHARED},
	"rshared":       {false, unix.MS_SHARED | unix.MS_REC},
	"slave":         {false, unix.MS_SLAVE},
	"rslave":        {false, unix.MS_SLAVE | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
}

// parseMountOptions splits a comma-separated option list into mount(2)
// flags and the file system's data (the options that are not flags, in
// their order).
func parseMountOptions(o string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, opt := range strings.Split(o, ",") {
		if opt == "" {
			continue
		}
		f, ok := mountFlags[opt]
		switch {
		case !ok:
			data = append(data, opt)
		case f.clear:
			flags &^= f.flag
		default:
			flags |= f.flag
		}
	}
	return flags, strings.Join(data, ",")
}

// mountOption returns the value of key=value in a data option list.
func mountOption(data, key string) string {
	for _, opt := range strings.Split(data, ",") {
		if v, ok := strings.CutPrefix(opt, key+"="); ok {
			return v
		}
	}
	return ""
}

// mountPoints returns the mount points of this mount namespace, one entry
// per mount (a path mounted over twice appears twice).
func mountPoints() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		out = append(out, unescapeMountPath(f[4]))
	}
	return out, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isMountPoint reports whether something is mounted on dir (a path with
// symlinks resolved).
func isMountPoint(dir string) (bool, error) {
	mps, err := mountPoints()
	if err != nil {
		return false, err
	}
	for _, mp := range mps {
		if mp == dir {
			return true, nil
		}
	}
	return false, nil
}

// unmountBelow detaches every mount on or below dir (a path with symlinks
// resolved), deepest first, and checks that none is left.
func unmountBelow(dir string) error {
	for range 16 { // a path may carry stacked mounts; each round peels them
		mps, err := mountPoints()
		if err != nil {
			return err
		}
		var below []string
		for _, mp := range mps {
			if mp == dir || strings.HasPrefix(mp, dir+"/") {
				below = append(below, mp)
			}
		}
		if len(below) == 0 {
			return nil
		}
		sort.Slice(below, func(i, j int) bool { return len(below[i]) > len(below[j]) })
		for _, mp := range below {
			err := unix.Unmount(mp, unix.MNT_DETACH)
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	return fmt.Errorf("unmount %s: still mounted", dir)
}
