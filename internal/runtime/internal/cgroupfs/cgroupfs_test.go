package cgroupfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"berth.dev/berth/internal/runtime"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const unifiedMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`

const nestedMountinfo = `35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory
`

func TestDirs(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		paths     map[string]string
		want      Dirs
	}{
		{
			name:      "hybrid",
			mountinfo: hybridMountinfo,
			paths:     map[string]string{"memory": "/b/c", "cpuacct": "/b/c", "pids": "/b/c", "": "/b/c"},
			want: Dirs{
				Memory: "/sys/fs/cgroup/memory/b/c", CPUAcct: "/sys/fs/cgroup/cpu,cpuacct/b/c",
				Pids: "/sys/fs/cgroup/pids/b/c", Unified: "/sys/fs/cgroup/unified/b/c",
			},
		},
		{
			name:      "unified",
			mountinfo: unifiedMountinfo,
			paths:     map[string]string{"": "/b/c"},
			want: Dirs{
				Memory: "/sys/fs/cgroup/b/c", CPUAcct: "/sys/fs/cgroup/b/c", Pids: "/sys/fs/cgroup/b/c",
				Unified: "/sys/fs/cgroup/b/c", V2: true,
			},
		},
		{
			name:      "mount of a subtree",
			mountinfo: nestedMountinfo,
			paths:     map[string]string{"memory": "/docker/abc/x"},
			want:      Dirs{Memory: "/sys/fs/cgroup/memory/x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dirs(parseMounts([]byte(tc.mountinfo)), func(c string) string { return tc.paths[c] })
			if got != tc.want {
				t.Errorf("dirs = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		v2    bool
		files map[string]string
		want  runtime.Stats
	}{
		{
			name: "v1 unlimited",
			files: map[string]string{
				"memory.usage_in_bytes": "1000\n", "memory.limit_in_bytes": "9223372036854771712\n",
				"memory.max_usage_in_bytes": "2000\n", "cpuacct.usage": "12345\n",
				"pids.current": "3\n", "pids.max": "max\n",
				"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
			},
			want: runtime.Stats{CPUUsageNanos: 12345, MemoryUsage: 1000, MemoryMaxUsage: 2000, PidsCurrent: 3},
		},
		{
			name: "v1 oom killed",
			files: map[string]string{
				"memory.usage_in_bytes": "1000\n", "memory.limit_in_bytes": "33554432\n",
				"memory.max_usage_in_bytes": "33554432\n", "cpuacct.usage": "1\n",
				"pids.current": "0\n", "pids.max": "64\n",
				"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
			},
			want: runtime.Stats{CPUUsageNanos: 1, MemoryUsage: 1000, MemoryLimit: 33554432, MemoryMaxUsage: 33554432, PidsLimit: 64, OOMKilled: true},
		},
		{
			name: "v2 without memory.peak",
			v2:   true,
			files: map[string]string{
				"memory.current": "4096\n", "memory.max": "max\n",
				"cpu.stat":     "usage_usec 7\nuser_usec 5\nsystem_usec 2\n",
				"pids.current": "1\n", "pids.max": "max\n",
				"memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
			},
			want: runtime.Stats{CPUUsageNanos: 7000, MemoryUsage: 4096, PidsCurrent: 1, OOMKilled: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			got, err := Dirs{Memory: dir, CPUAcct: dir, Pids: dir, V2: tc.v2}.Read()
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("Read = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	_, err := Dirs{Memory: filepath.Join(t.TempDir(), "gone")}.Read()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}

func TestOOMKilledNoFiles(t *testing.T) {
	if _, err := OOMKilled(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}
