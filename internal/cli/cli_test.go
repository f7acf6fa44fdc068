package cli

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestCommandNamed(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"monitor", "abc"}, "monitor"},
		{[]string{"--root", "/r", "--run-root=/rr", "--config", "/c.json", "--log-level", "debug", "monitor", "-"}, "monitor"},
		{[]string{"--root", "/r", "dns", "0123"}, "dns"},
		{[]string{"run", "busybox", "monitor"}, "run"},
		{[]string{"ls", "-a"}, "ps"},
		{[]string{"--root", "monitor", "run"}, "run"}, // "monitor" is --root's value
		{[]string{"-D", "monitor"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"rnu"}, ""}, // unknown: the whole tree, for cobra's suggestion
		{nil, ""},
	}
	for _, tt := range tests {
		if got := commandNamed(tt.args); got != tt.want {
			t.Errorf("commandNamed(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// topCommands names every command the whole tree has, with its aliases,
// and a root built for one command has that one alone.
func TestTopCommands(t *testing.T) {
	full := newRootCommand(&globals{}, "")
	if len(full.Commands()) != len(topCommands) {
		t.Errorf("the tree has %d commands, topCommands %d", len(full.Commands()), len(topCommands))
	}
	for i, c := range full.Commands() {
		names := append([]string{c.Name()}, c.Aliases...)
		var entry []string
		for _, tc := range topCommands {
			if tc.names[0] == c.Name() {
				entry = tc.names
			}
		}
		slices.Sort(names)
		sorted := slices.Sorted(slices.Values(entry))
		if !slices.Equal(names, sorted) {
			t.Errorf("command %d: %v, topCommands has %v", i, names, entry)
		}
		one := newRootCommand(&globals{}, c.Name())
		if cs := one.Commands(); len(cs) != 1 || cs[0].Name() != c.Name() {
			t.Errorf("root for %s has %d commands", c.Name(), len(cs))
		}
	}
}

// As Docker: a bare berth prints help and exits 0; an unknown command is
// an error naming it, exit 1.
func TestUnknownCommand(t *testing.T) {
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"rnu", "busybox"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 1 {
		t.Errorf("berth rnu: exit %d, want 1", code)
	}
	if want := "berth: 'rnu' is not a berth command.\nSee 'berth --help'\n"; errb.String() != want {
		t.Errorf("berth rnu: stderr %q, want %q", errb.String(), want)
	}
	out.Reset()
	errb.Reset()
	if code := Main(context.Background(), nil, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 || !strings.Contains(out.String(), "Usage:") {
		t.Errorf("bare berth: exit %d, output %q", code, out.String())
	}
}
