//go:build linux

package archive

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{ChangeModify: "C", ChangeAdd: "A", ChangeDelete: "D", 7: "ChangeKind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
}

func TestChanges(t *testing.T) {
	upper, lower := upperFixture(t)
	changes, err := Changes(upper, []string{lower})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	want := []string{
		"A /bin", "A /bin/tool", "A /data", "A /data/secret",
		"C /etc", "D /etc/gone", "C /etc/hosts", "A /etc/link",
		"A /fifo", "A /hard1", "A /hard2", "A /null",
		"C /opq", "A /opq/new", // opq is opaque: the lower opq/new is hidden
		"A /sock",
	}
	if got := changeLines(changes); !slices.Equal(got, want) {
		t.Errorf("Changes:\n got %q\nwant %q", got, want)
	}
}

// TestChangesLowerLookup checks the overlay lookup through two lowers:
// whiteouts, opaque dirs and non-directories in the top lower hide the
// bottom one.
func TestChangesLowerLookup(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	upper, l1, l2 := filepath.Join(base, "upper"), filepath.Join(base, "l1"), filepath.Join(base, "l2")
	at := func(dir string) func(string) string {
		return func(p string) string { return filepath.Join(dir, p) }
	}
	u, a, b := at(upper), at(l1), at(l2)

	// l2, the bottom layer.
	mkdirs(t, b("op"), b("f/g"), b("m"), b("w2"))
	for _, f := range []string{"wo", "op/y", "z", "m/q", "w2/x"} {
		writeFile(t, b(f), "l2", 0o644)
	}
	// l1 hides wo, op/y (opaque op), f/g (f is a file) and w2.
	mkdirs(t, a("op"), a("m"))
	must(t, unix.Mknod(a("wo"), unix.S_IFCHR, 0))
	must(t, unix.Mknod(a("w2"), unix.S_IFCHR, 0))
	must(t, unix.Setxattr(a("op"), "trusted.overlay.opaque", []byte("y"), 0))
	writeFile(t, a("f"), "l1", 0o644)
	writeFile(t, a("only1"), "l1", 0o644)

	mkdirs(t, u("op"), u("f"), u("m"), u("w2"))
	for _, f := range []string{"wo", "op/y", "f/g", "z", "m/q", "w2/x", "only1", "new"} {
		writeFile(t, u(f), "upper", 0o644)
	}
	must(t, unix.Mknod(u("gone"), unix.S_IFCHR, 0))

	changes, err := Changes(upper, []string{l1, l2, filepath.Join(base, "missing")})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	want := []string{
		"C /f", "A /f/g", "D /gone", "C /m", "C /m/q", "A /new", "C /only1",
		"C /op", "A /op/y", "A /w2", "A /w2/x", "A /wo", "C /z",
	}
	if got := changeLines(changes); !slices.Equal(got, want) {
		t.Errorf("Changes:\n got %q\nwant %q", got, want)
	}
}

func TestChangesMissingUpper(t *testing.T) {
	if _, err := Changes(filepath.Join(t.TempDir(), "nope"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Changes of a missing dir: %v, want ErrNotExist", err)
	}
}
