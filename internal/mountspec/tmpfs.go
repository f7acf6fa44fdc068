package mountspec

import (
	"os"
	"path"
	"strconv"
	"strings"
)

// ParseTmpfs parses --tmpfs TARGET[:OPTIONS]. OPTIONS are tmpfs mount
// options separated by commas:
//
//   - size=N (Docker's units, see [RAMInBytes]) sets SizeBytes; a
//     percentage ("size=50%") is kept in Options as given;
//   - mode=OCTAL sets Mode;
//   - ro and rw set ReadOnly (the last one wins, as in Docker's merge);
//   - defaults is dropped, as Docker drops it;
//   - other mount flags (noexec, nosuid, …) and uid, gid, nr_inodes,
//     nr_blocks, mpol are kept in Options, in order.
//
// Docker refuses other options only when it starts the container; berth
// refuses them here. The target is returned cleaned.
func ParseTmpfs(spec string) (Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	if path.Clean(target) == "/" {
		return Mount{}, invalid("%s", errTargetIsRoot)
	}
	if !path.IsAbs(target) {
		return Mount{}, invalid("%s", errNotAbsolute(target))
	}
	m := Mount{Type: TypeTmpfs, Target: path.Clean(target)}
	var o TmpfsOptions
	if opts != "" {
		for _, opt := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(opt, "=")
			switch {
			case opt == "defaults":
			case opt == "ro" || opt == "rw":
				m.ReadOnly = opt == "ro"
			case k == "size" && !percentSize(v):
				n, err := RAMInBytes(v)
				if err != nil {
					return Mount{}, invalid("invalid tmpfs option %q: %s", opt, err)
				}
				o.SizeBytes = n
			case k == "mode":
				mode, err := strconv.ParseUint(v, 8, 32)
				if err != nil || mode > 0o7777 {
					return Mount{}, invalid("invalid tmpfs option %q", opt)
				}
				o.Mode = os.FileMode(mode)
			case storedTmpfsOption(opt):
				o.Options = append(o.Options, opt)
			default:
				return Mount{}, invalid("invalid tmpfs option %q", opt)
			}
		}
	}
	if o.SizeBytes != 0 || o.Mode != 0 || len(o.Options) > 0 {
		m.TmpfsOptions = &o
	}
	if err := m.Validate(); err != nil {
		return Mount{}, err
	}
	return m, nil
}
