package oci

import (
	"reflect"
	"testing"

	"berth.dev/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

func TestCommand(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/entry", "-x"}, Cmd: []string{"serve", "--port=80"}}
	shell := ocispec.ImageConfig{Cmd: []string{"sh"}}
	tests := []struct {
		name string
		img  ocispec.ImageConfig
		opts RunOptions
		want []string
	}{
		{name: "image entrypoint and cmd", img: img, want: []string{"/entry", "-x", "serve", "--port=80"}},
		{name: "args replace cmd", img: img, opts: RunOptions{Cmd: []string{"version"}},
			want: []string{"/entry", "-x", "version"}},
		{name: "empty args keep cmd", img: img, opts: RunOptions{Cmd: []string{}},
			want: []string{"/entry", "-x", "serve", "--port=80"}},
		{name: "image cmd only", img: shell, want: []string{"sh"}},
		{name: "args without entrypoint", img: shell, opts: RunOptions{Cmd: []string{"echo", "hi"}},
			want: []string{"echo", "hi"}},
		{name: "entrypoint clears image cmd", img: img,
			opts: RunOptions{Entrypoint: []string{"/bin/date"}, EntrypointSet: true}, want: []string{"/bin/date"}},
		{name: "entrypoint with args", img: img,
			opts: RunOptions{Entrypoint: []string{"/bin/echo"}, EntrypointSet: true, Cmd: []string{"a", "b"}},
			want: []string{"/bin/echo", "a", "b"}},
		{name: "empty entrypoint clears entrypoint", img: img,
			opts: RunOptions{Entrypoint: []string{""}, EntrypointSet: true, Cmd: []string{"ls", "/"}},
			want: []string{"ls", "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Command(tc.img, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	errTests := []struct {
		name string
		img  ocispec.ImageConfig
		opts RunOptions
	}{
		{name: "nothing anywhere", img: ocispec.ImageConfig{}},
		{name: "empty entrypoint without args", img: img, opts: RunOptions{Entrypoint: []string{""}, EntrypointSet: true}},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Command(tc.img, tc.opts)
			if err == nil || err.Error() != "no command specified" || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("got %v, want invalid argument %q", err, "no command specified")
			}
		})
	}
}

func TestEnv(t *testing.T) {
	root := Identity{Home: "/root"}
	tests := []struct {
		name     string
		img      ocispec.ImageConfig
		opts     RunOptions
		id       Identity
		hostname string
		want     []string
	}{
		{
			name: "defaults", id: root, hostname: "abc",
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=abc", "HOME=/root"},
		},
		{
			name: "image path replaces default in place", id: root, hostname: "abc",
			img:  ocispec.ImageConfig{Env: []string{"A=1", "PATH=/bin"}},
			want: []string{"PATH=/bin", "HOSTNAME=abc", "A=1", "HOME=/root"},
		},
		{
			name: "tty sets term", id: root, hostname: "h", opts: RunOptions{Tty: true},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "TERM=xterm", "HOME=/root"},
		},
		{
			name: "user term wins", id: root, hostname: "h",
			opts: RunOptions{Tty: true, Env: []string{"TERM=dumb"}},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "TERM=dumb", "HOME=/root"},
		},
		{
			name: "home from user", id: Identity{UID: 1000, Home: "/home/app"}, hostname: "h",
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "HOME=/home/app"},
		},
		{
			name: "home set by image kept", id: root, hostname: "h",
			img:  ocispec.ImageConfig{Env: []string{"HOME=/srv"}},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "HOME=/srv"},
		},
		{
			name: "override keeps position", id: root, hostname: "h",
			img:  ocispec.ImageConfig{Env: []string{"PATH=/bin", "A=1", "B=2", "C=3"}},
			opts: RunOptions{Env: []string{"D=4", "B=two", "A=one", "D=four"}},
			want: []string{"PATH=/bin", "HOSTNAME=h", "A=one", "B=two", "C=3", "D=four", "HOME=/root"},
		},
		{
			name: "user hostname wins", id: root, hostname: "h",
			opts: RunOptions{Env: []string{"HOSTNAME=mine"}},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=mine", "HOME=/root"},
		},
		{
			name: "bare key unsets", id: root, hostname: "h",
			img:  ocispec.ImageConfig{Env: []string{"A=1", "B=2"}},
			opts: RunOptions{Env: []string{"A", "NOPE", "B=3"}},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "B=3", "HOME=/root"},
		},
		{
			name: "empty value is a value", id: root, hostname: "h",
			opts: RunOptions{Env: []string{"A=", "=x"}},
			want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "A=", "HOME=/root"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			imgEnv := append([]string(nil), tc.img.Env...)
			got := Env(tc.img, tc.opts, tc.id, tc.hostname)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if !reflect.DeepEqual(tc.img.Env, imgEnv) && len(imgEnv) > 0 {
				t.Errorf("image env modified: %q", tc.img.Env)
			}
		})
	}
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		name     string
		image    string
		override string
		want     unix.Signal
		wantErr  bool
	}{
		{name: "default", want: unix.Signal(15)},
		{name: "image", image: "SIGQUIT", want: unix.Signal(3)},
		{name: "override wins", image: "SIGQUIT", override: "SIGKILL", want: unix.Signal(9)},
		{name: "without prefix", override: "TERM", want: unix.Signal(15)},
		{name: "lower case", override: "sigkill", want: unix.Signal(9)},
		{name: "number", override: "15", want: unix.Signal(15)},
		{name: "usr1 is linux's", override: "SIGUSR1", want: unix.Signal(10)},
		{name: "rtmin+3", override: "SIGRTMIN+3", want: unix.Signal(37)},
		{name: "rtmax-1", override: "RTMAX-1", want: unix.Signal(63)},
		{name: "rtmax", override: "SIGRTMAX", want: unix.Signal(64)},
		{name: "unknown name", override: "SIGFOO", wantErr: true},
		{name: "bad image signal", image: "nope", wantErr: true},
		{name: "zero", override: "0", wantErr: true},
		{name: "too big", override: "65", wantErr: true},
		{name: "negative", override: "-9", wantErr: true},
		{name: "rtmin out of range", override: "RTMIN+16", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StopSignal(ocispec.ImageConfig{StopSignal: tc.image}, tc.override)
			if tc.wantErr {
				if err == nil || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, %v; want invalid argument", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
