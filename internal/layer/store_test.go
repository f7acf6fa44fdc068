package layer

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/errdefs"
)

func stage(t *testing.T, s *Store, content string) *Staging {
	t.Helper()
	st, err := s.NewStaging()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir(), "f"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCommitGetRemove(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	diff := digest.FromString("a")
	chain := ChainID("", diff)
	if chain != diff {
		t.Fatalf("base chain ID %s != diff ID", chain)
	}
	if _, err := s.Get(chain); !errdefs.IsNotFound(err) {
		t.Fatalf("Get before commit = %v", err)
	}
	l, err := s.Commit(ctx, stage(t, s, "one"), Layer{ChainID: chain, DiffID: diff, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(chain)
	if err != nil || got.ID != l.ID || got.Size != 3 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.DiffDir(got), "f")); string(b) != "one" {
		t.Fatalf("diff content %q", b)
	}
	if _, err := os.Stat(filepath.Join(s.dir, got.ID, "lock")); err == nil {
		t.Fatal("staging lock file left in the layer")
	}
	// A second commit of the same chain keeps the first.
	again, err := s.Commit(ctx, stage(t, s, "two"), Layer{ChainID: chain, DiffID: diff})
	if err != nil || again.ID != l.ID {
		t.Fatalf("recommit = %+v, %v", again, err)
	}
	child := ChainID(chain, digest.FromString("b"))
	l2, err := s.Commit(ctx, stage(t, s, "child"), Layer{ChainID: child, DiffID: digest.FromString("b"), Parent: chain})
	if err != nil || l2.ID == l.ID {
		t.Fatalf("child = %+v, %v", l2, err)
	}
	all, _ := s.List()
	if len(all) != 2 {
		t.Fatalf("List = %d layers", len(all))
	}
	if err := s.Remove(ctx, chain); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(chain); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after remove = %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.dir, l.ID)); err == nil {
		t.Fatal("layer dir left after remove")
	}
	assertTmpEmpty(t, s)
}

func assertTmpEmpty(t *testing.T, s *Store) {
	t.Helper()
	ents, _ := os.ReadDir(s.tmp)
	if len(ents) != 0 {
		t.Fatalf("tmp not empty: %v", ents)
	}
}

func TestConcurrentCommitsOneLayer(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	diff := digest.FromString("same")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.Commit(ctx, stage(t, s, "x"), Layer{ChainID: diff, DiffID: diff})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = l.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
	}
	assertTmpEmpty(t, s)
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A pull killed after unpacking: a staging dir whose owner is gone.
	st := &Staging{root: filepath.Join(s.tmp, "layer-999999999-dead")}
	if err := os.MkdirAll(filepath.Join(st.root, "diff"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A live pull (this process): its staging dir is kept.
	live := stage(t, s, "live")
	// A crash between rename and index: an unindexed layer dir.
	if err := os.MkdirAll(filepath.Join(s.dir, "42", "diff"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A killed index write: its temporary file.
	tmpIndex := filepath.Join(s.dir, "index", ".abc.tmp-123")
	if err := os.WriteFile(tmpIndex, []byte("7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.root); err == nil {
		t.Error("dead staging dir survived")
	}
	if _, err := os.Stat(live.root); err != nil {
		t.Error("live staging dir removed")
	}
	if _, err := os.Stat(filepath.Join(s.dir, "42")); err == nil {
		t.Error("unindexed layer dir survived")
	}
	if _, err := os.Stat(tmpIndex); err == nil {
		t.Error("temporary index file survived")
	}
	live.Discard()
	assertTmpEmpty(t, s)
}
