package archive

import (
	"archive/tar"
	"bytes"
	"testing"
	"time"
)

// This file is a small tar builder in the manner of containerd's tartest:
// entries are tar headers with a body, written with archive/tar exactly as
// given, so that tests can express any header a hostile layer could carry.

// testTime is the mtime every built entry gets unless a test sets another.
var testTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// tarEntry is one header and, for regular files, its content.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func fileEntry(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, ModTime: testTime}, body: body}
}

func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: testTime}}
}

func symlinkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: testTime}}
}

func hardlinkEntry(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: testTime}}
}

// with returns e after f has changed its header.
func (e tarEntry) with(f func(h *tar.Header)) tarEntry {
	f(&e.hdr)
	return e
}

// buildTar writes the entries into an in-memory tar, end marker included.
func buildTar(tb testing.TB, entries ...tarEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatalf("write header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			tb.Fatalf("write body of %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}
