package archive

import (
	"errors"
	"fmt"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

func TestEntryError(t *testing.T) {
	err := fmt.Errorf("apply layer sha256:abc: %w", &EntryError{Entry: "../etc/passwd", Reason: "path escapes the layer"})
	if got, want := err.Error(), `apply layer sha256:abc: layer entry "../etc/passwd": path escapes the layer`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Error("EntryError is not ErrInvalidArgument")
	}
	if errors.Is(err, errdefs.ErrNotFound) {
		t.Error("EntryError is ErrNotFound")
	}
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Entry != "../etc/passwd" {
		t.Errorf("errors.As = %v, %+v", ee != nil, ee)
	}
	if got := (&EntryError{Entry: "a\nb", Reason: "x"}).Error(); got != `layer entry "a\nb": x` {
		t.Errorf("name with a newline: %q", got)
	}
}
