package oci

import (
	"encoding/json"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

func TestResources(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		opts    RunOptions
		want    string // JSON of the resources, devices left out
		wantErr string
	}{
		{name: "none", want: `{}`},
		{name: "memory doubles swap", opts: RunOptions{Memory: 100 * mib},
			want: `{"memory":{"limit":104857600,"swap":209715200}}`},
		{name: "explicit swap", opts: RunOptions{Memory: 100 * mib, MemorySwap: 300 * mib},
			want: `{"memory":{"limit":104857600,"swap":314572800}}`},
		{name: "swap equal to memory", opts: RunOptions{Memory: 100 * mib, MemorySwap: 100 * mib},
			want: `{"memory":{"limit":104857600,"swap":104857600}}`},
		{name: "unlimited swap", opts: RunOptions{Memory: 100 * mib, MemorySwap: -1},
			want: `{"memory":{"limit":104857600,"swap":-1}}`},
		{name: "reservation and oom", opts: RunOptions{Memory: 100 * mib, MemoryReservation: 50 * mib, OomKillDisable: true},
			want: `{"memory":{"limit":104857600,"reservation":52428800,"swap":209715200,"disableOOMKiller":true}}`},
		{name: "cpus", opts: RunOptions{NanoCPUs: 1500000000},
			want: `{"cpu":{"quota":150000,"period":100000}}`},
		{name: "smallest cpus", opts: RunOptions{NanoCPUs: 1e7},
			want: `{"cpu":{"quota":1000,"period":100000}}`},
		{name: "shares and cpuset", opts: RunOptions{CPUShares: 512, CpusetCpus: "0-2,4", CpusetMems: "0"},
			want: `{"cpu":{"shares":512,"cpus":"0-2,4","mems":"0"}}`},
		{name: "pids", opts: RunOptions{PidsLimit: 100}, want: `{"pids":{"limit":100}}`},
		{name: "pids unlimited", opts: RunOptions{PidsLimit: -1}, want: `{"pids":{"limit":-1}}`},
		{name: "pids negative is unlimited", opts: RunOptions{PidsLimit: -5}, want: `{"pids":{"limit":-1}}`},
		{name: "memory too small", opts: RunOptions{Memory: 4 * mib}, wantErr: "minimum memory limit allowed is 6MB"},
		{name: "memory negative", opts: RunOptions{Memory: -1}, wantErr: "minimum memory limit allowed is 6MB"},
		{name: "swap below memory", opts: RunOptions{Memory: 100 * mib, MemorySwap: 50 * mib},
			wantErr: "minimum memoryswap limit should be larger than memory limit"},
		{name: "swap without memory", opts: RunOptions{MemorySwap: 50 * mib},
			wantErr: "you should always set the memory limit when using memoryswap limit"},
		{name: "swap below -1", opts: RunOptions{Memory: 100 * mib, MemorySwap: -2},
			wantErr: "invalid memoryswap -2: use -1 for unlimited swap"},
		{name: "reservation too small", opts: RunOptions{MemoryReservation: mib},
			wantErr: "minimum memory reservation allowed is 6MB"},
		{name: "reservation above memory", opts: RunOptions{Memory: 10 * mib, MemoryReservation: 20 * mib},
			wantErr: "minimum memory limit can not be less than memory reservation limit"},
		{name: "negative cpus", opts: RunOptions{NanoCPUs: -1}, wantErr: "invalid cpus -1: must not be negative"},
		{name: "cpus too small", opts: RunOptions{NanoCPUs: 1e6}, wantErr: "minimum cpus allowed is 0.01"},
		{name: "negative shares", opts: RunOptions{CPUShares: -2}, wantErr: "invalid cpu shares -2: must not be negative"},
		{name: "bad cpuset", opts: RunOptions{CpusetCpus: "0-"}, wantErr: "invalid value 0- for cpuset cpus"},
		{name: "reversed cpuset", opts: RunOptions{CpusetCpus: "3-1"}, wantErr: "invalid value 3-1 for cpuset cpus"},
		{name: "bad mems", opts: RunOptions{CpusetMems: "a"}, wantErr: "invalid value a for cpuset mems"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resources(tc.opts)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want invalid argument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}
