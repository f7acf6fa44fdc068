package volume

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(t *testing.T, s *Store) []string {
	t.Helper()
	vs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func TestNew(t *testing.T) {
	root := filepath.Join(t.TempDir(), "volumes")
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(root)
	if err != nil || fi.Mode().Perm() != 0o701 {
		t.Fatalf("root %v, %v", fi.Mode(), err)
	}
}

func TestCreateGetListRemove(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	v, err := s.Create(ctx, "data", CreateOptions{Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "data" || v.Driver != "local" || v.Scope != "local" || v.Anonymous ||
		v.Mountpoint != filepath.Join(s.root, "data", "_data") || v.Labels["a"] != "b" || v.CreatedAt.IsZero() {
		t.Fatalf("created %+v", v)
	}
	fi, err := os.Stat(v.Mountpoint)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Fatalf("data dir %v, %v", fi, err)
	}
	got, err := s.Get("data")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != v.Name || got.Mountpoint != v.Mountpoint || !got.CreatedAt.Equal(v.CreatedAt) || got.Labels["a"] != "b" {
		t.Fatalf("Get = %+v, want %+v", got, v)
	}
	if _, err := s.Create(ctx, "other", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "abc", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(t, s), " "); got != "abc data other" {
		t.Fatalf("List = %s", got)
	}
	if mp, err := s.Mount(ctx, v); err != nil || mp != v.Mountpoint {
		t.Fatalf("Mount = %s, %v", mp, err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("data"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Remove = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(s.root, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume dir left: %v", err)
	}
	if got := strings.Join(names(t, s), " "); got != "abc other" {
		t.Fatalf("List = %s", got)
	}
	ents, _ := os.ReadDir(s.root)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".removing") || strings.HasSuffix(e.Name(), ".creating") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestNotFound(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"nosuch", "../x", "", ".lock"} {
		_, err := s.Get(name)
		if !errdefs.IsNotFound(err) || err.Error() != "get volume "+name+": no such volume" {
			t.Errorf("Get(%q) = %v", name, err)
		}
		if err := s.Remove(t.Context(), name); !errdefs.IsNotFound(err) {
			t.Errorf("Remove(%q) = %v", name, err)
		}
		if _, err := s.Mount(t.Context(), &Volume{Name: name}); !errdefs.IsNotFound(err) {
			t.Errorf("Mount(%q) = %v", name, err)
		}
	}
	if _, err := s.Mount(t.Context(), nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Mount(nil) = %v", err)
	}
}

func TestCreateIdempotent(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	opts := CreateOptions{Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}
	a, err := s.Create(ctx, "same", opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, "same", CreateOptions{Options: map[string]string{"o": "size=1m", "device": "tmpfs", "type": "tmpfs"}, Labels: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) || b.Labels != nil {
		t.Fatalf("second Create made a new volume: %+v", b)
	}

	// Concurrent creations of one name all get the one volume.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Create(ctx, "race", CreateOptions{}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(names(t, s), " "); got != "race same" {
		t.Fatalf("List = %s", got)
	}
}

func TestCreateConflictingOptions(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.Create(ctx, "vol", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(ctx, "vol", CreateOptions{Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "vol") {
		t.Fatalf("Create with other options = %v", err)
	}
	if _, err := s.Create(ctx, "vol", CreateOptions{Options: map[string]string{}}); err != nil {
		t.Fatalf("empty options are no options: %v", err)
	}
}

func TestInvalidNames(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name string
		want string
	}{
		{"a", `create a: volume name is too short, names should be at least two alphanumeric characters`},
		{"-ab", `create -ab: "-ab" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`},
		{".ab", `create .ab: ".ab" includes invalid characters`},
		{"_ab", `create _ab: "_ab" includes invalid characters`},
		{"..", `create ..: ".." includes invalid characters`},
		{"a/b", `create a/b: "a/b" includes invalid characters`},
		{"../../etc", `create ../../etc: "../../etc" includes invalid characters`},
		{"a b", `create a b: "a b" includes invalid characters`},
		{"a:b", `create a:b: "a:b" includes invalid characters`},
		{"ab\n", `includes invalid characters`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(t.Context(), tc.name, CreateOptions{})
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create(%q) = %v", tc.name, err)
			}
		})
	}
	for _, name := range []string{"ab", "a.b", "A_b-c.d", "9x", "x.creating", "x.removing"} {
		if _, err := s.Create(t.Context(), name, CreateOptions{}); err != nil {
			t.Errorf("Create(%q) = %v", name, err)
		}
	}
	if got := strings.Join(names(t, s), " "); got != "9x A_b-c.d a.b ab x.creating x.removing" {
		t.Fatalf("List = %s", got)
	}
}

func TestInvalidOptions(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name string
		opts map[string]string
		want string
	}{
		{"unknown", map[string]string{"type": "tmpfs", "device": "tmpfs", "size": "1m"}, `create v1: invalid option key: "size"`},
		{"type alone", map[string]string{"type": "tmpfs"}, `create v1: missing required option: "device"`},
		{"device alone", map[string]string{"device": "/dev/x"}, `create v1: missing required option: "type"`},
		{"o alone", map[string]string{"o": "ro"}, `missing required option`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(t.Context(), "v1", CreateOptions{Options: tc.opts})
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create = %v, want %s", err, tc.want)
			}
		})
	}
	if len(names(t, s)) != 0 {
		t.Fatal("an invalid volume was created")
	}
}

func TestAnonymous(t *testing.T) {
	s := newStore(t)
	v, err := s.Create(t.Context(), "", CreateOptions{Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(v.Name) || !v.Anonymous {
		t.Fatalf("anonymous volume %+v", v)
	}
	if _, ok := v.Labels[AnonymousLabel]; !ok || v.Labels["k"] != "v" {
		t.Fatalf("labels %v", v.Labels)
	}
	w, err := s.Create(t.Context(), "", CreateOptions{})
	if err != nil || w.Name == v.Name {
		t.Fatalf("second anonymous volume %+v, %v", w, err)
	}
	got, err := s.Get(v.Name)
	if err != nil || !got.Anonymous {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	named, err := s.Create(t.Context(), "named", CreateOptions{})
	if err != nil || named.Anonymous || named.Labels != nil {
		t.Fatalf("named volume %+v, %v", named, err)
	}
}

func TestRecord(t *testing.T) {
	s := newStore(t)
	if _, err := s.Create(t.Context(), "rec", CreateOptions{Options: map[string]string{"type": "none", "device": "/x", "o": "bind"}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.root, "rec", "volume.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["BerthSchemaVersion"] != float64(1) || m["Name"] != "rec" || m["Driver"] != "local" ||
		m["Mountpoint"] != filepath.Join(s.root, "rec", "_data") || m["Options"].(map[string]any)["o"] != "bind" {
		t.Fatalf("record %s", data)
	}
	if _, ok := m["BerthAnonymous"]; ok {
		t.Fatalf("BerthAnonymous written for a named volume: %s", data)
	}
	fi, err := os.Stat(filepath.Join(s.root, "rec", "volume.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record mode %v, %v", fi, err)
	}

	// A record that names another volume (a directory renamed by hand) is
	// not that volume.
	if err := os.Rename(filepath.Join(s.root, "rec"), filepath.Join(s.root, "moved")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("moved"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get(moved) = %v", err)
	}
}

// leave builds the staging directory of a creation killed before its
// rename, or a trash directory of a removal killed before its RemoveAll.
func leave(t *testing.T, s *Store, dir, name string) {
	t.Helper()
	v := Volume{Name: name, Driver: DriverLocal, Scope: ScopeLocal, Mountpoint: s.dataDir(name)}
	if err := s.build(dir, v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "_data", "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKilledCreationNotListed(t *testing.T) {
	s := newStore(t)
	leave(t, s, s.stagingDir("half"), "half")
	if n := names(t, s); len(n) != 0 {
		t.Fatalf("List = %v", n)
	}
	if _, err := s.Get("half"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get = %v", err)
	}
	// Creating it again replaces the leftover.
	v, err := s.Create(t.Context(), "half", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
		t.Fatalf("new volume has the leftover's data: %v", ents)
	}
	if _, err := os.Lstat(s.stagingDir("half")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging dir: %v", err)
	}
}

func TestSweep(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, name := range []string{"good", "x.creating", "y.removing"} {
		if _, err := s.Create(ctx, name, CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	leave(t, s, s.stagingDir("x"), "x")
	leave(t, s, s.trashDir("y"), "y")
	if err := os.Mkdir(s.stagingDir("empty"), 0o700); err != nil { // killed before the record
		t.Fatal(err)
	}
	// A removal killed half-way through RemoveAll: no record any more.
	leave(t, s, s.trashDir("good"), "good")
	os.Remove(filepath.Join(s.trashDir("good"), "volume.json"))

	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".lock good x.creating y.removing" {
		t.Fatalf("after Sweep: %s", got)
	}
	if got := strings.Join(names(t, s), " "); got != "good x.creating y.removing" {
		t.Fatalf("List = %s", got)
	}
	if err := s.Sweep(ctx); err != nil {
		t.Fatalf("second Sweep: %v", err)
	}
}

func TestRemoveAfterKilledRemoval(t *testing.T) {
	s := newStore(t)
	if _, err := s.Create(t.Context(), "again", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	leave(t, s, s.trashDir("again"), "again") // an earlier "again", half removed
	if err := s.Remove(t.Context(), "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.trashDir("again")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("trash left: %v", err)
	}
}

func TestLockHonoursContext(t *testing.T) {
	s := newStore(t)
	l, err := s.lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Create(ctx, "blocked", CreateOptions{}); err == nil {
		t.Fatal("Create ran while the store lock was held elsewhere")
	}
}
