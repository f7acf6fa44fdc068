package container

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/runtime"
)

// HealthConfig is Docker's (HEALTHCHECK, --health-*): durations in
// nanoseconds in JSON, as Docker writes them.
type HealthConfig struct {
	// Test is ["NONE"] (disabled), ["CMD", args…] or ["CMD-SHELL", cmd].
	Test        []string      `json:"Test,omitempty"`
	Interval    time.Duration `json:"Interval,omitempty"`
	Timeout     time.Duration `json:"Timeout,omitempty"`
	StartPeriod time.Duration `json:"StartPeriod,omitempty"`
	Retries     int           `json:"Retries,omitempty"`
}

// Health statuses, Docker's.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Health is a running container's health, in its state.
type Health struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one check.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// Docker's defaults and limits.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	healthLogKeep         = 5
	healthOutputMax       = 4096
)

// healthConfig is the check a container runs: its own --health-* over the
// image's HEALTHCHECK, field by field, as Docker merges them; nil for none.
func healthConfig(c *Container, rawImageConfig []byte) *HealthConfig {
	var img struct {
		Config struct {
			Healthcheck *HealthConfig `json:"Healthcheck"`
		} `json:"config"`
	}
	json.Unmarshal(rawImageConfig, &img)
	hc := HealthConfig{}
	if img.Config.Healthcheck != nil {
		hc = *img.Config.Healthcheck
	}
	if o := c.Config.Healthcheck; o != nil {
		if len(o.Test) > 0 {
			hc.Test = o.Test
		}
		if o.Interval != 0 {
			hc.Interval = o.Interval
		}
		if o.Timeout != 0 {
			hc.Timeout = o.Timeout
		}
		if o.StartPeriod != 0 {
			hc.StartPeriod = o.StartPeriod
		}
		if o.Retries != 0 {
			hc.Retries = o.Retries
		}
	}
	if len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	if hc.Interval <= 0 {
		hc.Interval = defaultHealthInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = defaultHealthTimeout
	}
	if hc.Retries <= 0 {
		hc.Retries = defaultHealthRetries
	}
	return &hc
}

// healthArgs is the command of a check.
func healthArgs(test []string) []string {
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		if len(test) > 1 {
			return []string{"/bin/sh", "-c", test[1]}
		}
	}
	return nil
}

// stateMu serialises the monitor's writes of its container's state: the
// run loop's and the health checker's.
var stateMu sync.Mutex

// checkHealth runs hc in the running container every interval until ctx
// is done, keeping st.Health (set to starting by the caller) up to date in
// the state file, as Docker's
// health monitor does: "starting" until a check passes (failures during
// the start period do not count), "unhealthy" after Retries failures in a
// row, "healthy" after any pass.
func (s *Service) checkHealth(ctx context.Context, id string, rt runtime.Runtime, proc specs.Process, hc *HealthConfig, st *State) {
	started := time.Now()
	t := time.NewTimer(hc.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := s.runCheck(ctx, id, rt, proc, hc)
		if ctx.Err() != nil {
			return
		}
		stateMu.Lock()
		h := st.Health
		h.Log = append(h.Log, res)
		if len(h.Log) > healthLogKeep {
			h.Log = h.Log[len(h.Log)-healthLogKeep:]
		}
		switch {
		case res.ExitCode == 0:
			h.Status, h.FailingStreak = HealthHealthy, 0
		case time.Since(started) < hc.StartPeriod && h.Status == HealthStarting:
			// Failures in the start period do not count.
		default:
			h.FailingStreak++
			if h.FailingStreak >= hc.Retries {
				h.Status = HealthUnhealthy
			}
		}
		s.store.saveState(id, *st)
		stateMu.Unlock()
		t.Reset(hc.Interval)
	}
}

// runCheck runs one check with its timeout; a check that cannot start or
// runs too long fails (exit code -1, as in Docker, with a message).
func (s *Service) runCheck(ctx context.Context, id string, rt runtime.Runtime, proc specs.Process, hc *HealthConfig) HealthResult {
	res := HealthResult{Start: time.Now(), ExitCode: -1}
	args := healthArgs(hc.Test)
	if len(args) == 0 {
		res.End, res.Output = time.Now(), "invalid health check command"
		return res
	}
	proc.Args, proc.Terminal = args, false
	r, w, err := os.Pipe()
	if err != nil {
		res.End, res.Output = time.Now(), err.Error()
		return res
	}
	p, err := rt.Exec(ctx, id, &proc, runtime.Stdio{Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		res.End, res.Output = time.Now(), err.Error()
		return res
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&limitWriter{&out, healthOutputMax}, r)
		r.Close()
		close(copied)
	}()
	done := make(chan int, 1)
	go func() {
		code, _ := p.Wait()
		done <- code
	}()
	select {
	case code := <-done:
		<-copied
		res.ExitCode, res.Output = code, out.String()
	case <-time.After(hc.Timeout):
		p.Signal(syscall.SIGKILL)
		<-done
		res.Output = "Health check exceeded timeout (" + hc.Timeout.String() + ")"
	case <-ctx.Done():
		p.Signal(syscall.SIGKILL)
		<-done
	}
	res.End = time.Now()
	return res
}

// limitWriter keeps the first n bytes written to it and drops the rest.
type limitWriter struct {
	b *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}
