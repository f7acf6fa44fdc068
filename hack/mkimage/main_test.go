package main

import (
	"bytes"
	"strings"
	"testing"

	"berth.dev/berth/internal/registrytest"
)

func TestRunTLSAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{TLS: true, Username: "u", Password: "p"})
	var out bytes.Buffer
	args := []string{"--registry", reg.Addr, "--user", "u", "--password", "p", "--ca", reg.CACert, "all", "--big-mb", "2"}
	if err := run(t.Context(), args, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"library/busybox:latest", "library/busybox:schema2", "library/busybox:oci", "test/multilayer:latest", "test/big:latest"}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s\nwant %d lines", out.String(), len(want))
	}
	for i, line := range lines {
		ref, dgst, ok := strings.Cut(line, "\t")
		if !ok || ref != reg.Addr+"/"+want[i] || !strings.HasPrefix(dgst, "sha256:") {
			t.Errorf("line %d = %q, want %s/%s<TAB>sha256:…", i, line, reg.Addr, want[i])
		}
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"busybox"},
		{"--registry", "127.0.0.1:1", "bogus"},
		{"--registry", "127.0.0.1:1", "busybox", "index"},
	} {
		var out bytes.Buffer
		if err := run(t.Context(), args, &out); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
