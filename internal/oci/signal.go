package oci

import (
	"strconv"
	"strings"

	"berth.dev/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Linux signal numbers. They are spelled out rather than taken from
// golang.org/x/sys/unix so that a spec built on another OS names the
// signals of the container's kernel.
const (
	sigRTMIN = 34
	sigRTMAX = 64
)

// signalNumber returns the Linux number of a signal name without "SIG",
// in upper case, as moby/sys/signal's SignalMap has them.
func signalNumber(name string) (int, bool) {
	switch name {
	case "HUP":
		return 1, true
	case "INT":
		return 2, true
	case "QUIT":
		return 3, true
	case "ILL":
		return 4, true
	case "TRAP":
		return 5, true
	case "ABRT", "IOT":
		return 6, true
	case "BUS":
		return 7, true
	case "FPE":
		return 8, true
	case "KILL":
		return 9, true
	case "USR1":
		return 10, true
	case "SEGV":
		return 11, true
	case "USR2":
		return 12, true
	case "PIPE":
		return 13, true
	case "ALRM":
		return 14, true
	case "TERM":
		return 15, true
	case "STKFLT":
		return 16, true
	case "CHLD", "CLD":
		return 17, true
	case "CONT":
		return 18, true
	case "STOP":
		return 19, true
	case "TSTP":
		return 20, true
	case "TTIN":
		return 21, true
	case "TTOU":
		return 22, true
	case "URG":
		return 23, true
	case "XCPU":
		return 24, true
	case "XFSZ":
		return 25, true
	case "VTALRM":
		return 26, true
	case "PROF":
		return 27, true
	case "WINCH":
		return 28, true
	case "IO", "POLL":
		return 29, true
	case "PWR":
		return 30, true
	case "SYS", "UNUSED":
		return 31, true
	case "RTMIN":
		return sigRTMIN, true
	case "RTMAX":
		return sigRTMAX, true
	}
	// RTMIN+1 … RTMIN+15 and RTMAX-14 … RTMAX-1, as Docker lists them.
	if n, ok := strings.CutPrefix(name, "RTMIN+"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= 15 && n[0] != '+' {
			return sigRTMIN + i, true
		}
	}
	if n, ok := strings.CutPrefix(name, "RTMAX-"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= 14 && n[0] != '+' {
			return sigRTMAX - i, true
		}
	}
	return 0, false
}

// StopSignal is the signal `docker stop` sends first: override
// (--stop-signal) if not empty, else the image's StopSignal, else SIGTERM.
// A signal is a name with or without "SIG" in any case ("SIGTERM", "term")
// or a number 1..64. Anything else is an invalid-argument error.
func StopSignal(img ocispec.ImageConfig, override string) (unix.Signal, error) {
	raw := override
	if raw == "" {
		raw = img.StopSignal
	}
	if raw == "" {
		return unix.Signal(15), nil
	}
	if n, err := strconv.Atoi(raw); err == nil {
		if n < 1 || n > sigRTMAX {
			return 0, errdefs.New(errdefs.ErrInvalidArgument, "invalid signal: %s", raw)
		}
		return unix.Signal(n), nil
	}
	n, ok := signalNumber(strings.TrimPrefix(strings.ToUpper(raw), "SIG"))
	if !ok {
		return 0, errdefs.New(errdefs.ErrInvalidArgument, "invalid signal: %s", raw)
	}
	return unix.Signal(n), nil
}
