package image

import (
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() ocispec.ImageConfig {
		return ocispec.ImageConfig{Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, WorkingDir: "/srv"}
	}
	tests := []struct {
		name    string
		changes []string
		check   func(c ocispec.ImageConfig) bool
		err     string
	}{
		{"cmd json", []string{`CMD ["echo", "hi"]`}, func(c ocispec.ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"echo", "hi"}) }, ""},
		{"cmd shell", []string{`CMD echo hi`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo hi"})
		}, ""},
		{"entrypoint", []string{`ENTRYPOINT ["/app"]`}, func(c ocispec.ImageConfig) bool { return reflect.DeepEqual(c.Entrypoint, []string{"/app"}) }, ""},
		{"env pairs replace", []string{`ENV A=2 B="x y"`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=2", "B=x y"})
		}, ""},
		{"env legacy", []string{`ENV C hello world`}, func(c ocispec.ImageConfig) bool { return c.Env[2] == "C=hello world" }, ""},
		{"expose", []string{`EXPOSE 80 53/udp`}, func(c ocispec.ImageConfig) bool {
			_, a := c.ExposedPorts["80/tcp"]
			_, b := c.ExposedPorts["53/udp"]
			return a && b
		}, ""},
		{"label", []string{`LABEL a=b "c d"=e`}, func(c ocispec.ImageConfig) bool { return c.Labels["a"] == "b" && c.Labels["c d"] == "e" }, ""},
		{"user", []string{`USER 1000:1000`}, func(c ocispec.ImageConfig) bool { return c.User == "1000:1000" }, ""},
		{"workdir relative", []string{`WORKDIR app`}, func(c ocispec.ImageConfig) bool { return c.WorkingDir == "/srv/app" }, ""},
		{"volume json", []string{`VOLUME ["/data", "/logs"]`}, func(c ocispec.ImageConfig) bool { return len(c.Volumes) == 2 }, ""},
		{"volume words", []string{`VOLUME /data`}, func(c ocispec.ImageConfig) bool { _, ok := c.Volumes["/data"]; return ok }, ""},
		{"stopsignal", []string{`STOPSIGNAL SIGINT`}, func(c ocispec.ImageConfig) bool { return c.StopSignal == "SIGINT" }, ""},
		{"lower case instruction", []string{`cmd ["x"]`}, func(c ocispec.ImageConfig) bool { return c.Cmd[0] == "x" }, ""},
		{"unknown", []string{`RUN echo`}, nil, "RUN is not a valid change command"},
		{"from", []string{`FROM busybox`}, nil, "FROM is not a valid change command"},
		{"onbuild", []string{`ONBUILD RUN x`}, nil, "ONBUILD is not supported"},
		{"bad env", []string{`ENV A=1 B`}, nil, "want KEY=VALUE"},
		{"unterminated", []string{`LABEL a="b`}, nil, "unterminated"},
		{"empty user", []string{`USER`}, nil, "USER requires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			err := ApplyChanges(&c, tt.changes)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config after %q: %+v", tt.changes, c)
			}
		})
	}
}
