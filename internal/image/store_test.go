package image

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/errdefs"
)

func TestRepoOf(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/busybox:latest":        "docker.io/library/busybox",
		"localhost:5000/a/b:1":                    "localhost:5000/a/b",
		"localhost:5000/a/b@sha256:" + hex64("a"): "localhost:5000/a/b",
		"[::1]:5000/app:tag":                      "[::1]:5000/app",
	} {
		if got := repoOf(in); got != want {
			t.Errorf("repoOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func hex64(c string) string {
	s := ""
	for len(s) < 64 {
		s += c
	}
	return s
}

func TestStoreRecordsAndReferences(t *testing.T) {
	ctx := context.Background()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := digest.Digest("sha256:" + hex64("b"))
	if _, err := s.Get(id); !errdefs.IsNotFound(err) {
		t.Fatalf("Get before Put = %v", err)
	}
	lock, err := s.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(&Image{ID: id, Platform: "linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReferences(map[string]digest.Digest{"docker.io/library/a:1": id, "docker.io/library/a:2": id}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReferences(map[string]digest.Digest{"docker.io/library/a:1": ""}); err != nil {
		t.Fatal(err)
	}
	lock.Unlock()
	refs, err := s.References()
	if err != nil || len(refs) != 1 || refs["docker.io/library/a:2"] != id {
		t.Fatalf("refs = %v, %v", refs, err)
	}
	img, err := s.Get(id)
	if err != nil || img.SchemaVersion != recordVersion || img.Platform != "linux/amd64" {
		t.Fatalf("Get = %+v, %v", img, err)
	}
	all, _ := s.List()
	if len(all) != 1 {
		t.Fatalf("List = %d", len(all))
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Delete = %v", err)
	}
}
