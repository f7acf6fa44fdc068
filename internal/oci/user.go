package oci

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/internal/errdefs"
)

// Users is the image's /etc/passwd and /etc/group, parsed. Either may be
// empty (an image without the file).
type Users struct {
	Passwd []PasswdEntry
	Groups []GroupEntry
}

// PasswdEntry is one line of /etc/passwd.
type PasswdEntry struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string
}

// GroupEntry is one line of /etc/group.
type GroupEntry struct {
	Name    string
	GID     int
	Members []string
}

// Identity is the identity the container's process runs as.
type Identity struct {
	UID, GID uint32
	// AdditionalGids are the groups that list the user as a member; the
	// primary group is not repeated here.
	AdditionalGids []uint32
	Home           string
}

// maxID is the largest uid or gid Docker (moby/sys/user) accepts.
const maxID = 1<<31 - 1

// maxLine bounds a line of /etc/passwd or /etc/group; a longer line is
// skipped as malformed rather than held in memory.
const maxLine = 64 << 10

// ParsePasswd parses /etc/passwd (name:password:uid:gid:gecos:home:shell).
// Blank lines and comments are skipped, and so is a malformed line: one
// without a name, or whose uid or gid is not a number in 0..2^31-1. The
// trailing fields may be missing. The only error is one from r.
func ParsePasswd(r io.Reader) ([]PasswdEntry, error) {
	var out []PasswdEntry
	err := eachLine(r, func(line string) {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			return
		}
		e := PasswdEntry{Name: f[0], UID: uid, GID: gid}
		if len(f) > 5 {
			e.Home = f[5]
		}
		if len(f) > 6 {
			e.Shell = f[6]
		}
		out = append(out, e)
	})
	if err != nil {
		return nil, fmt.Errorf("read passwd: %w", err)
	}
	return out, nil
}

// ParseGroup parses /etc/group (name:password:gid:member,member…) with the
// same tolerance as [ParsePasswd].
func ParseGroup(r io.Reader) ([]GroupEntry, error) {
	var out []GroupEntry
	err := eachLine(r, func(line string) {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] == "" {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		e := GroupEntry{Name: f[0], GID: gid}
		if len(f) > 3 {
			for m := range strings.SplitSeq(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					e.Members = append(e.Members, m)
				}
			}
		}
		out = append(out, e)
	})
	if err != nil {
		return nil, fmt.Errorf("read group: %w", err)
	}
	return out, nil
}

// eachLine calls fn with every line of r that is not blank, not a comment
// and not longer than maxLine, trimmed of surrounding white space.
func eachLine(r io.Reader, fn func(string)) error {
	br := bufio.NewReader(r)
	var long bool // the current line is over maxLine and is being skipped
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !long {
			buf = append(buf, chunk...)
			if len(buf) > maxLine {
				long, buf = true, buf[:0]
			}
		}
		if isPrefix {
			continue
		}
		if !long {
			line := string(bytes.TrimSpace(buf))
			if line != "" && !strings.HasPrefix(line, "#") {
				fn(line)
			}
		}
		long, buf = false, buf[:0]
	}
}

// parseID parses a uid or gid: decimal digits only, in 0..maxID.
func parseID(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxID {
		return 0, false
	}
	return n, true
}

// ResolveUser resolves a `docker run -u` value against the image's users,
// with the semantics of moby/sys/user.GetExecUser that Docker uses:
//
//   - "" is root: 0:0, home from root's passwd entry, else "/root";
//   - a number is a uid, looked up in passwd for its gid, home and groups,
//     and allowed without an entry (gid 0, home "/", no groups);
//   - a name must be in passwd;
//   - ":group" or ":gid" replaces the primary group, a gid without an
//     entry being allowed, and then no supplementary groups are added;
//   - otherwise the supplementary groups are those listing the user.
//
// A name that is not found is an invalid-argument error worded as
// Docker's: "unable to find user NAME: no matching entries in passwd file".
func ResolveUser(user string, users Users) (Identity, error) {
	userArg, groupArg, _ := strings.Cut(user, ":")
	uidArg, uidErr := strconv.Atoi(userArg)
	gidArg, gidErr := strconv.Atoi(groupArg)

	var matched *PasswdEntry
	for i := range users.Passwd {
		p := &users.Passwd[i]
		var ok bool
		switch {
		case userArg == "":
			ok = p.UID == 0
		case uidErr == nil:
			ok = p.UID == uidArg
		default:
			ok = p.Name == userArg
		}
		if ok {
			matched = p
			break
		}
	}

	var id Identity
	switch {
	case matched != nil:
		id.UID, id.GID, id.Home = uint32(matched.UID), uint32(matched.GID), matched.Home
	case userArg == "":
		id.Home = "/root"
	case uidErr != nil:
		return Identity{}, errdefs.New(errdefs.ErrInvalidArgument,
			"unable to find user %s: no matching entries in passwd file", userArg)
	default:
		if uidArg < 0 || uidArg > maxID {
			return Identity{}, errRange()
		}
		id.UID, id.Home = uint32(uidArg), "/"
	}
	if id.Home == "" {
		id.Home = "/"
	}

	switch {
	case groupArg != "":
		found := false
		for _, g := range users.Groups {
			if (gidErr == nil && g.GID == gidArg) || (gidErr != nil && g.Name == groupArg) {
				id.GID, found = uint32(g.GID), true
				break
			}
		}
		if !found {
			if gidErr != nil {
				return Identity{}, errdefs.New(errdefs.ErrInvalidArgument,
					"unable to find group %s: no matching entries in group file", groupArg)
			}
			if gidArg < 0 || gidArg > maxID {
				return Identity{}, errRange()
			}
			id.GID = uint32(gidArg)
		}
	case matched != nil:
		for _, g := range users.Groups {
			if slices.Contains(g.Members, matched.Name) {
				id.AdditionalGids = append(id.AdditionalGids, uint32(g.GID))
			}
		}
	}
	return id, nil
}

func errRange() error {
	return errdefs.New(errdefs.ErrInvalidArgument, "uids and gids must be in range 0-%d", maxID)
}
