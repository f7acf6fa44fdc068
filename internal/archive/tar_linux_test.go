//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// tarFixture builds a tree for Tar and a host file outside it that a
// symlink in the tree points at:
//
//	a (0640, 1000:1001), d/ (opaque xattr) with d/b, h1 = h2,
//	link -> host file, proc/x, sock, wo (0/0 char device)
func tarFixture(t *testing.T) (dir, host string) {
	t.Helper()
	requireRoot(t)
	base := t.TempDir()
	dir, host = filepath.Join(base, "root"), filepath.Join(base, "host-secret")
	writeFile(t, host, "host secret", 0o600)
	p := func(s string) string { return filepath.Join(dir, s) }
	mkdirs(t, p("d"), p("proc"))
	writeFile(t, p("a"), "a", 0o640)
	must(t, os.Chown(p("a"), 1000, 1001))
	must(t, unix.Setxattr(p("d"), "trusted.overlay.opaque", []byte("y"), 0))
	writeFile(t, p("d/b"), "b", 0o644)
	writeFile(t, p("h1"), "h", 0o644)
	must(t, os.Link(p("h1"), p("h2")))
	must(t, os.Symlink(host, p("link")))
	writeFile(t, p("proc/x"), "x", 0o644)
	makeSocket(t, p("sock"))
	must(t, unix.Mknod(p("wo"), unix.S_IFCHR, 0))
	return dir, host
}

func tarItems(t *testing.T, dir string, opts TarOptions) []tarItem {
	t.Helper()
	var buf bytes.Buffer
	if err := Tar(t.Context(), &buf, dir, opts); err != nil {
		t.Fatalf("Tar: %v", err)
	}
	return readTar(t, buf.Bytes())
}

func TestTar(t *testing.T) {
	dir, host := tarFixture(t)
	tests := []struct {
		name  string
		dir   string
		opts  TarOptions
		want  []string
		check func(t *testing.T, items []tarItem)
	}{
		{
			name: "export",
			dir:  dir,
			opts: TarOptions{Exclude: []string{"/proc"}},
			want: []string{"a", "d/", "d/b", "h1", "h2", "link", "wo"},
			check: func(t *testing.T, items []tarItem) {
				if h := findItem(t, items, "a").hdr; h.Uid != 1000 || h.Gid != 1001 || h.Mode != 0o640 {
					t.Errorf("a: owner %d:%d mode %#o", h.Uid, h.Gid, h.Mode)
				}
				if h := findItem(t, items, "h2").hdr; h.Typeflag != tar.TypeLink || h.Linkname != "h1" {
					t.Errorf("h2: type %q -> %q", h.Typeflag, h.Linkname)
				}
				if h := findItem(t, items, "wo").hdr; h.Typeflag != tar.TypeChar || h.Devmajor != 0 || h.Devminor != 0 {
					t.Errorf("wo: type %q, want a 0/0 char device", h.Typeflag)
				}
				if recs := findItem(t, items, "d/").hdr.PAXRecords; len(recs) != 0 {
					t.Errorf("d/: PAX records %v, want the overlay xattr left out", recs)
				}
			},
		},
		{
			name: "cp under a name",
			dir:  dir,
			opts: TarOptions{Name: "foo"},
			want: []string{"foo/", "foo/a", "foo/d/", "foo/d/b", "foo/h1", "foo/h2", "foo/link", "foo/proc/", "foo/proc/x", "foo/wo"},
			check: func(t *testing.T, items []tarItem) {
				if h := findItem(t, items, "foo/h2").hdr; h.Linkname != "foo/h1" {
					t.Errorf("foo/h2 -> %q, want foo/h1", h.Linkname)
				}
				if h := findItem(t, items, "foo/").hdr; h.Typeflag != tar.TypeDir {
					t.Errorf("foo/: type %q", h.Typeflag)
				}
			},
		},
		{
			name: "no ownership",
			dir:  dir,
			opts: TarOptions{NoOwnership: true, Exclude: []string{"d", "/proc/"}},
			want: []string{"a", "h1", "h2", "link", "wo"},
			check: func(t *testing.T, items []tarItem) {
				for _, it := range items {
					if it.hdr.Uid != 0 || it.hdr.Gid != 0 {
						t.Errorf("%s: owner %d:%d, want 0:0", it.hdr.Name, it.hdr.Uid, it.hdr.Gid)
					}
				}
			},
		},
		{
			name: "symlink in the tree is not followed",
			dir:  dir,
			want: []string{"a", "d/", "d/b", "h1", "h2", "link", "proc/", "proc/x", "wo"},
			check: func(t *testing.T, items []tarItem) {
				it := findItem(t, items, "link")
				if it.hdr.Typeflag != tar.TypeSymlink || it.hdr.Linkname != host || it.body != "" {
					t.Errorf("link: type %q -> %q body %q", it.hdr.Typeflag, it.hdr.Linkname, it.body)
				}
			},
		},
		{
			name: "single file",
			dir:  filepath.Join(dir, "a"),
			want: []string{"a"},
			check: func(t *testing.T, items []tarItem) {
				if it := items[0]; it.hdr.Typeflag != tar.TypeReg || it.body != "a" || it.hdr.Uid != 1000 {
					t.Errorf("a: type %q body %q uid %d", it.hdr.Typeflag, it.body, it.hdr.Uid)
				}
			},
		},
		{
			name: "single file under a name",
			dir:  filepath.Join(dir, "d/b"),
			opts: TarOptions{Name: "renamed"},
			want: []string{"renamed"},
		},
		{
			name: "single symlink is not followed",
			dir:  filepath.Join(dir, "link"),
			want: []string{"link"},
			check: func(t *testing.T, items []tarItem) {
				if it := items[0]; it.hdr.Typeflag != tar.TypeSymlink || it.hdr.Linkname != host || it.body != "" {
					t.Errorf("link: type %q -> %q body %q", it.hdr.Typeflag, it.hdr.Linkname, it.body)
				}
			},
		},
		{
			name: "single socket gives an empty archive",
			dir:  filepath.Join(dir, "sock"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items := tarItems(t, tc.dir, tc.opts)
			if got := itemNames(items); !slices.Equal(got, tc.want) {
				t.Fatalf("entries:\n got %q\nwant %q", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, items)
			}
		})
	}
}

func TestTarRoundTrip(t *testing.T) {
	dir, _ := tarFixture(t)
	var buf bytes.Buffer
	if err := Tar(t.Context(), &buf, dir, TarOptions{}); err != nil {
		t.Fatalf("Tar: %v", err)
	}
	out := newLayerDir(t)
	if _, err := Apply(t.Context(), out, &buf); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	must(t, os.Remove(filepath.Join(dir, "sock"))) // sockets are not archived
	want, got := treeState(t, dir), treeState(t, out)
	delete(want, "wo") // a 0/0 device reads as a whiteout to Apply
	assertWhiteout(t, filepath.Join(out, "wo"))
	delete(got, "wo")
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q after the round trip, want %q", p, got[p], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("round trip holds %d paths, want %d", len(got), len(want))
	}
}

func TestTarRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"/abs", "..", "../x", "a/../../x", "."} {
		if err := Tar(t.Context(), io.Discard, dir, TarOptions{Name: name}); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Name %q: %v, want ErrInvalidArgument", name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	writeFile(t, filepath.Join(dir, "f"), "x", 0o644)
	if err := Tar(ctx, io.Discard, dir, TarOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if err := Tar(t.Context(), io.Discard, filepath.Join(dir, "missing"), TarOptions{}); err == nil {
		t.Error("missing dir: no error")
	}
}
