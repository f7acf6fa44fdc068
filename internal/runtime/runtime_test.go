package runtime_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/runtime"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want int
	}{
		{"exit 0", 0, 0},
		{"exit 3", 3 << 8, 3},
		{"exit 255", 255 << 8, 255},
		{"SIGKILL", syscall.WaitStatus(syscall.SIGKILL), 137},
		{"SIGTERM with core", syscall.WaitStatus(syscall.SIGTERM) | 0x80, 143},
		{"stopped", 0x7f | syscall.WaitStatus(syscall.SIGSTOP)<<8, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runtime.ExitCode(tc.ws); got != tc.want {
				t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tc.ws), got, tc.want)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"abc", true},
		{"A-b_c+1.2", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"../etc", false},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			err := runtime.ValidateID(tc.id)
			if tc.ok != (err == nil) {
				t.Errorf("ValidateID(%q) = %v, want ok %t", tc.id, err, tc.ok)
			}
			if err != nil && !errdefs.IsInvalidArgument(err) {
				t.Errorf("ValidateID(%q) = %v, want an invalid argument", tc.id, err)
			}
		})
	}
}

func TestCheckStdio(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		stdio    runtime.Stdio
		ok       bool
	}{
		{"pipes", false, runtime.Stdio{Stdout: os.Stdout}, true},
		{"terminal", true, runtime.Stdio{Terminal: true}, true},
		{"terminal in spec only", true, runtime.Stdio{}, false},
		{"terminal in stdio only", false, runtime.Stdio{Terminal: true}, false},
		{"terminal and files", true, runtime.Stdio{Terminal: true, Stdin: os.Stdin}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runtime.CheckStdio(&specs.Process{Terminal: tc.terminal}, tc.stdio)
			if tc.ok != (err == nil) {
				t.Errorf("CheckStdio = %v, want ok %t", err, tc.ok)
			}
		})
	}
}

func TestLoadSpec(t *testing.T) {
	tests := []struct {
		name   string
		config string // "" for no config.json
		ok     bool
	}{
		{"ok", `{"root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"}}`, true},
		{"missing", "", false},
		{"bad json", `{`, false},
		{"no root", `{"process":{"args":["sh"],"cwd":"/"}}`, false},
		{"no process", `{"root":{"path":"rootfs"}}`, false},
		{"no args", `{"root":{"path":"rootfs"},"process":{"cwd":"/"}}`, false},
		{"relative cwd", `{"root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"tmp"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			spec, err := runtime.LoadSpec(dir)
			if tc.ok != (err == nil) {
				t.Fatalf("LoadSpec = %v, want ok %t", err, tc.ok)
			}
			if tc.ok && spec.Process.Args[0] != "sh" {
				t.Errorf("args = %v", spec.Process.Args)
			}
		})
	}
}
