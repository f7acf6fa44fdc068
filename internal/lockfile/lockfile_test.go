package lockfile

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"berth.dev/berth/internal/errdefs"
)

func TestExclusiveAndShared(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	ctx := context.Background()
	a, err := Acquire(ctx, p, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryAcquire(p, Shared); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("TryAcquire while held = %v", err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx2, p, Exclusive); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire while held = %v", err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	s1, err := TryAcquire(p, Shared)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := TryAcquire(p, Shared)
	if err != nil {
		t.Fatalf("two shared holders: %v", err)
	}
	if _, err := TryAcquire(p, Exclusive); err == nil {
		t.Fatal("exclusive while shared held")
	}
	s1.Unlock()
	s2.Unlock()
	s2.Unlock()
	if l, err := TryAcquire(p, Exclusive); err != nil {
		t.Fatal(err)
	} else {
		l.Unlock()
	}
}
