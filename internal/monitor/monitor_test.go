package monitor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write(Stdout, []byte("hello"))
	w.WriteUint32(Exit, 137)
	k, p, err := ReadFrame(&buf)
	if err != nil || k != Stdout || string(p) != "hello" {
		t.Fatalf("frame 1: %v %q %v", k, p, err)
	}
	k, p, err = ReadFrame(&buf)
	if err != nil || k != Exit || Uint32(p) != 137 {
		t.Fatalf("frame 2: %v %v %v", k, p, err)
	}
	if _, _, err := ReadFrame(&buf); err == nil {
		t.Fatal("read past the end")
	}
}

func TestJSONLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x-json.log")
	l, err := OpenLog(p)
	if err != nil {
		t.Fatal(err)
	}
	l.Write("stdout", []byte("one\ntwo\nthr"))
	l.Write("stderr", []byte("err\n"))
	l.Close()
	f, _ := os.Open(p)
	defer f.Close()
	var got []string
	ReadLog(f, func(e LogEntry) error { got = append(got, e.Stream+":"+e.Log); return nil })
	want := []string{"stdout:one\n", "stdout:two\n", "stdout:thr", "stderr:err\n"}
	if len(got) != len(want) {
		t.Fatalf("entries %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entries %q, want %q", got, want)
		}
	}
}
