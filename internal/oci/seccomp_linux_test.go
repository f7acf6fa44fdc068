package oci

import (
	"slices"
	"testing"

	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// allows reports whether a seccomp filter has a rule allowing syscall name.
func allows(s *specs.LinuxSeccomp, name string) bool {
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActAllow && len(sc.Args) == 0 && slices.Contains(sc.Names, name) {
			return true
		}
	}
	return false
}

func TestGenerateSeccomp(t *testing.T) {
	const custom = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}`
	tests := []struct {
		name    string
		opts    func(*RunOptions)
		check   func(*testing.T, *specs.LinuxSeccomp)
		wantErr string
	}{
		{
			name: "default profile",
			check: func(t *testing.T, s *specs.LinuxSeccomp) {
				if s == nil || s.DefaultAction != specs.ActErrno || len(s.Syscalls) == 0 {
					t.Fatalf("seccomp %+v", s)
				}
				if !allows(s, "read") || allows(s, "mount") {
					t.Error("default profile allows the wrong syscalls")
				}
			},
		},
		{
			name: "builtin is the default",
			opts: func(o *RunOptions) { o.SecurityOpt = []string{"seccomp=builtin"} },
			check: func(t *testing.T, s *specs.LinuxSeccomp) {
				if s == nil || s.DefaultAction != specs.ActErrno {
					t.Fatalf("seccomp %+v", s)
				}
			},
		},
		{
			name: "default adapts to added capabilities",
			opts: func(o *RunOptions) { o.CapAdd = []string{"SYS_ADMIN"} },
			check: func(t *testing.T, s *specs.LinuxSeccomp) {
				if s == nil || !allows(s, "mount") {
					t.Error("CAP_SYS_ADMIN does not allow mount")
				}
			},
		},
		{
			name:  "unconfined",
			opts:  func(o *RunOptions) { o.SecurityOpt = []string{"seccomp=unconfined"} },
			check: func(t *testing.T, s *specs.LinuxSeccomp) { assertNil(t, s) },
		},
		{
			name:  "unconfined with colon",
			opts:  func(o *RunOptions) { o.SecurityOpt = []string{"seccomp:unconfined"} },
			check: func(t *testing.T, s *specs.LinuxSeccomp) { assertNil(t, s) },
		},
		{
			name:  "privileged",
			opts:  func(o *RunOptions) { o.Privileged = true },
			check: func(t *testing.T, s *specs.LinuxSeccomp) { assertNil(t, s) },
		},
		{
			name: "privileged ignores a custom profile",
			opts: func(o *RunOptions) {
				o.Privileged, o.SecurityOpt, o.SeccompProfile = true, []string{"seccomp=/p.json"}, []byte(custom)
			},
			check: func(t *testing.T, s *specs.LinuxSeccomp) { assertNil(t, s) },
		},
		{
			name: "custom profile",
			opts: func(o *RunOptions) {
				o.SecurityOpt, o.SeccompProfile = []string{"seccomp=/etc/p.json"}, []byte(custom)
			},
			check: func(t *testing.T, s *specs.LinuxSeccomp) {
				if s == nil || s.DefaultAction != specs.ActAllow || len(s.Syscalls) != 1 ||
					s.Syscalls[0].Action != specs.ActErrno || !slices.Equal(s.Syscalls[0].Names, []string{"chmod"}) {
					t.Errorf("seccomp %+v", s)
				}
			},
		},
		{
			name:    "custom profile not json",
			opts:    func(o *RunOptions) { o.SecurityOpt, o.SeccompProfile = []string{"seccomp=/etc/p.json"}, []byte("{") },
			wantErr: "load seccomp profile /etc/p.json: invalid argument: Decoding seccomp profile failed: unexpected end of JSON input",
		},
		{
			name:    "custom profile empty",
			opts:    func(o *RunOptions) { o.SecurityOpt = []string{"seccomp=/etc/p.json"} },
			wantErr: "load seccomp profile /etc/p.json: profile is empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			s, err := Generate(testImage(), opts, Users{})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want invalid argument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s.Linux.Seccomp)
		})
	}
}

func assertNil(t *testing.T, s *specs.LinuxSeccomp) {
	t.Helper()
	if s != nil {
		t.Errorf("seccomp %+v, want none", s.DefaultAction)
	}
}
