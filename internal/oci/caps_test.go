package oci

import (
	"reflect"
	"slices"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

func TestCapabilityTable(t *testing.T) {
	all := AllCapabilities()
	if len(all) != 41 || all[0] != "CAP_CHOWN" || all[21] != "CAP_SYS_ADMIN" || all[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Fatalf("capability table is off: %d entries, %q", len(all), all)
	}
	for _, c := range DefaultCapabilities() {
		if !slices.Contains(all, c) {
			t.Errorf("default %s is not in the table", c)
		}
	}
	all[0] = "changed"
	if AllCapabilities()[0] != "CAP_CHOWN" {
		t.Error("AllCapabilities shares its table")
	}
}

func TestCapabilities(t *testing.T) {
	docker := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(docker), func(c string) bool { return slices.Contains(drop, c) })
	}
	allBut := func(drop ...string) []string {
		return slices.DeleteFunc(AllCapabilities(), func(c string) bool { return slices.Contains(drop, c) })
	}
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		want       []string
		wantErr    string
	}{
		{name: "docker default", want: docker},
		{name: "add with prefix", add: []string{"CAP_NET_ADMIN"}, want: append(slices.Clone(docker), "CAP_NET_ADMIN")},
		{name: "add without prefix", add: []string{"NET_ADMIN"}, want: append(slices.Clone(docker), "CAP_NET_ADMIN")},
		{name: "add lower case", add: []string{"net_admin", "Sys_Ptrace"},
			want: append(slices.Clone(docker), "CAP_NET_ADMIN", "CAP_SYS_PTRACE")},
		{name: "add a default adds nothing", add: []string{"chown"}, want: docker},
		{name: "drop", drop: []string{"NET_RAW", "cap_mknod"}, want: without("CAP_NET_RAW", "CAP_MKNOD")},
		{name: "drop all then add", drop: []string{"ALL"}, add: []string{"NET_BIND_SERVICE"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "drop all lower case", drop: []string{"all"}, want: []string{}},
		{name: "add all then drop", add: []string{"ALL"}, drop: []string{"SYS_ADMIN"}, want: allBut("CAP_SYS_ADMIN")},
		{name: "add all and drop all", add: []string{"ALL"}, drop: []string{"ALL"}, want: AllCapabilities()},
		{name: "added and dropped is kept as in docker", add: []string{"NET_ADMIN"}, drop: []string{"NET_ADMIN"},
			want: append(slices.Clone(docker), "CAP_NET_ADMIN")},
		{name: "privileged", privileged: true, want: AllCapabilities()},
		{name: "privileged ignores drop", privileged: true, drop: []string{"ALL"}, want: AllCapabilities()},
		{name: "unknown add", add: []string{"FOO"}, wantErr: `unknown capability: "CAP_FOO"`},
		{name: "unknown drop", drop: []string{"cap_bar"}, wantErr: `unknown capability: "CAP_BAR"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Capabilities(tc.add, tc.drop, tc.privileged)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want invalid argument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
