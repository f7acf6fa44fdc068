package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"berth.dev/berth/internal/image"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// pullProgress renders pull progress like Docker: on a terminal one live
// line per layer, redrawn in place; otherwise a plain line per change of
// status (byte counts are not repeated).
type imageProgress = image.Progress

type pullProgress struct {
	w   io.Writer
	tty bool

	mu     sync.Mutex // guards the fields below
	order  []string
	lines  map[string]image.Progress
	drawn  int // lines drawn on the terminal
	last   time.Time
	status map[string]string // last plain status per layer
}

func newPullProgress(w io.Writer) *pullProgress {
	return &pullProgress{w: w, tty: isTerminal(w), lines: map[string]image.Progress{}, status: map[string]string{}}
}

func (p *pullProgress) update(u image.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.lines[u.ID]; !ok {
		p.order = append(p.order, u.ID)
	}
	p.lines[u.ID] = u
	if !p.tty {
		if p.status[u.ID] != u.Status {
			p.status[u.ID] = u.Status
			fmt.Fprintf(p.w, "%s: %s\n", u.ID, u.Status)
		}
		return
	}
	if u.Status == "Downloading" && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.redraw()
}

// redraw rewrites the layer lines in place; the caller holds mu.
func (p *pullProgress) redraw() {
	p.last = time.Now()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.order {
		u := p.lines[id]
		b.WriteString("\x1b[2K")
		fmt.Fprintf(&b, "%s: %-18s", id, u.Status)
		if u.Status == "Downloading" && u.Total > 0 {
			b.WriteString(" " + bar(u.Current, u.Total))
		}
		b.WriteString("\n")
	}
	p.drawn = len(p.order)
	io.WriteString(p.w, b.String())
}

// finish draws the final state.
func (p *pullProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && len(p.order) > 0 {
		p.redraw()
	}
}

// bar is Docker's progress bar: [=====>      ]  1.2MB/4.3MB
func bar(cur, total int64) string {
	const width = 50
	n := int(float64(width) * float64(cur) / float64(total))
	n = max(0, min(n, width))
	arrow := ""
	if n < width {
		arrow = ">"
	}
	fill := strings.Repeat("=", n) + arrow
	if len(fill) > width {
		fill = fill[:width]
	}
	return fmt.Sprintf("[%-50s] %8s/%s", fill, humanSize(cur), humanSize(total))
}

// humanSize is Docker's size format: decimal units, three significant digits.
func humanSize(n int64) string { return humanSizePrec(n, 3) }

// humanSizePrec is go-units' HumanSizeWithPrecision: decimal units, prec
// significant digits.
func humanSizePrec(n int64, prec int) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.*g%s", prec, f, units[i])
}

// humanDuration is Docker's "2 weeks" style.
func humanDuration(d time.Duration) string {
	switch s := d.Seconds(); {
	case s < 1:
		return "Less than a second"
	case s < 2:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", int(s))
	}
	switch m := d.Minutes(); {
	case m < 2:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", int(m))
	}
	switch h := d.Hours(); {
	case h < 2:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", int(h))
	case h < 24*7*2:
		return fmt.Sprintf("%d days", int(h/24))
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", int(h/24/7))
	case h < 24*365*2:
		return fmt.Sprintf("%d months", int(h/24/30))
	default:
		return fmt.Sprintf("%d years", int(h/24/365))
	}
}

func since(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return humanDuration(time.Since(t)) + " ago"
}
