package content

import (
	"errors"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/errdefs"
)

func TestStore(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"schemaVersion":2}`)
	d := digest.FromBytes(data)
	if err := s.Put(d, data); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(d, data); err != nil {
		t.Fatalf("second put: %v", err)
	}
	if !s.Has(d) {
		t.Fatal("Has = false")
	}
	got, err := s.Get(d)
	if err != nil || string(got) != string(data) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := s.Put(d, []byte("other")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("put with wrong content = %v", err)
	}
	n := 0
	s.Walk(func(digest.Digest, int64) error { n++; return nil })
	if n != 1 {
		t.Fatalf("walk saw %d blobs", n)
	}
	if err := os.WriteFile(s.Path(d), []byte("rot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(d); err == nil {
		t.Fatal("a damaged blob was returned")
	}
	if err := s.Delete(d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(d); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after delete = %v", err)
	}
}
