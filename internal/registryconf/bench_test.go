package registryconf

import (
	"fmt"
	"testing"

	"berth.dev/berth/internal/reference"
)

// benchConfig has n rules of mixed kinds, like a large site configuration.
func benchConfig(n int) Config {
	cfg := Config{Mirrors: []string{"http://127.0.0.1:5000"}, Insecure: []string{"10.0.0.0/8"}}
	for i := 0; i < n; i++ {
		r := Rule{Prefix: fmt.Sprintf("reg%d.example.com/team%d", i, i), Mirrors: []Endpoint{{Location: fmt.Sprintf("mirror%d.local", i)}}}
		if i%3 == 0 {
			r.Location = fmt.Sprintf("registry.local/r%d", i)
		}
		if i%5 == 0 {
			r.Prefix = fmt.Sprintf("*.zone%d.example.com", i)
		}
		cfg.Registries = append(cfg.Registries, r)
	}
	return cfg
}

func BenchmarkNew100Rules(b *testing.B) {
	cfg := benchConfig(100)
	for b.Loop() {
		if _, err := New(cfg, "bench", Flags{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolve100Rules(b *testing.B) {
	r, err := New(benchConfig(100), "bench", Flags{}, WithDirExists(func(string) bool { return false }))
	if err != nil {
		b.Fatal(err)
	}
	names := []reference.Reference{
		reference.MustParse("busybox"),
		reference.MustParse("reg42.example.com/team42/app:1.0"),
		reference.MustParse("a.zone50.example.com/x/y:2"),
		reference.MustParse("quay.io/no/rule:3"),
	}
	for b.Loop() {
		for _, n := range names {
			if _, err := r.Resolve(n); err != nil {
				b.Fatal(err)
			}
		}
	}
}
