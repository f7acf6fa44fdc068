package oci

import (
	"strconv"
	"strings"

	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// minMemory is Docker's smallest memory limit and reservation (linuxMinMemory).
const minMemory = 6 << 20

// cpuPeriod is the CFS period --cpus is expressed in, in microseconds.
const cpuPeriod = 100000

// resources converts the resource options as moby's WithResources and
// verifyPlatformContainerResources do. Errors are of kind invalid argument,
// worded as Docker's.
func resources(opts RunOptions) (*specs.LinuxResources, error) {
	invalid := func(format string, args ...any) error {
		return errdefs.New(errdefs.ErrInvalidArgument, format, args...)
	}
	r := &specs.LinuxResources{}

	// Memory.
	if opts.Memory != 0 && opts.Memory < minMemory {
		return nil, invalid("minimum memory limit allowed is 6MB")
	}
	if opts.MemoryReservation != 0 && opts.MemoryReservation < minMemory {
		return nil, invalid("minimum memory reservation allowed is 6MB")
	}
	if opts.Memory > 0 && opts.MemoryReservation > opts.Memory {
		return nil, invalid("minimum memory limit can not be less than memory reservation limit")
	}
	swap := opts.MemorySwap
	switch {
	case swap < -1:
		return nil, invalid("invalid memoryswap %d: use -1 for unlimited swap", swap)
	case swap > 0 && opts.Memory == 0:
		return nil, invalid("you should always set the memory limit when using memoryswap limit")
	case swap > 0 && swap < opts.Memory:
		return nil, invalid("minimum memoryswap limit should be larger than memory limit")
	case swap == 0 && opts.Memory > 0:
		swap = 2 * opts.Memory
	}
	var mem specs.LinuxMemory
	if opts.Memory > 0 {
		mem.Limit = ptr(opts.Memory)
	}
	if swap != 0 {
		mem.Swap = ptr(swap)
	}
	if opts.MemoryReservation > 0 {
		mem.Reservation = ptr(opts.MemoryReservation)
	}
	if opts.OomKillDisable {
		mem.DisableOOMKiller = ptr(true)
	}
	if mem != (specs.LinuxMemory{}) {
		r.Memory = &mem
	}

	// CPU.
	var cpu specs.LinuxCPU
	switch {
	case opts.NanoCPUs < 0:
		return nil, invalid("invalid cpus %d: must not be negative", opts.NanoCPUs)
	case opts.NanoCPUs > 0 && opts.NanoCPUs < 1e7:
		// The kernel's smallest CFS quota is 1000µs, 0.01 of the period.
		return nil, invalid("minimum cpus allowed is 0.01")
	case opts.NanoCPUs > 0:
		cpu.Quota = ptr(opts.NanoCPUs / (1e9 / cpuPeriod))
		cpu.Period = ptr(uint64(cpuPeriod))
	}
	switch {
	case opts.CPUShares < 0:
		return nil, invalid("invalid cpu shares %d: must not be negative", opts.CPUShares)
	case opts.CPUShares > 0:
		cpu.Shares = ptr(uint64(opts.CPUShares))
	}
	if opts.CpusetCpus != "" && !validUintList(opts.CpusetCpus) {
		return nil, invalid("invalid value %s for cpuset cpus", opts.CpusetCpus)
	}
	if opts.CpusetMems != "" && !validUintList(opts.CpusetMems) {
		return nil, invalid("invalid value %s for cpuset mems", opts.CpusetMems)
	}
	cpu.Cpus, cpu.Mems = opts.CpusetCpus, opts.CpusetMems
	if cpu != (specs.LinuxCPU{}) {
		r.CPU = &cpu
	}

	// Pids: Docker turns any negative limit into -1, unlimited.
	switch {
	case opts.PidsLimit > 0:
		r.Pids = &specs.LinuxPids{Limit: ptr(opts.PidsLimit)}
	case opts.PidsLimit < 0:
		r.Pids = &specs.LinuxPids{Limit: ptr(int64(-1))}
	}
	return r, nil
}

// validUintList reports whether s is a cpuset list such as "0-3,5"
// (Docker's parsers.ParseUintList).
func validUintList(s string) bool {
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return false
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 32)
			if err != nil || b < a {
				return false
			}
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }
