package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := Write(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(p, map[string]int{"a": 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "{\n  \"a\": 1\n}\n" {
		t.Fatalf("content %q, %v", got, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := WriteJSONVolatile(p, map[string]int{"b": 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := ReadJSON(p, &v); err != nil || v["b"] != 2 {
		t.Fatalf("after WriteJSONVolatile: %v, %v", v, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	var v map[string]int
	if err := ReadJSON(filepath.Join(dir, "none.json"), &v); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(dir, "x.json")
	WriteJSON(p, map[string]int{"a": 1}, 0o600)
	if err := ReadJSON(p, &v); err != nil || v["a"] != 1 {
		t.Fatalf("ReadJSON = %v, %v", v, err)
	}
	os.WriteFile(p, []byte("{"), 0o600)
	if err := ReadJSON(p, &v); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("broken file: %v", err)
	}
}
