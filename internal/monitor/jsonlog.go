package monitor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// LogEntry is one line of Docker's json-file log.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// LogWriter appends output to a json-file log, one entry per line of
// output (a partial last line is written as it comes, like Docker does
// for long lines). It is safe for concurrent use.
type LogWriter struct {
	mu sync.Mutex
	f  *os.File
	bw *bufio.Writer
}

// OpenLog opens (creating) the log at path for appending.
func OpenLog(path string) (*LogWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &LogWriter{f: f, bw: bufio.NewWriterSize(f, 32<<10)}, nil
}

// Write records p as output of stream ("stdout" or "stderr"), split into
// lines.
func (l *LogWriter) Write(stream string, p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now().UTC()
	for len(p) > 0 {
		n := len(p)
		for i, c := range p {
			if c == '\n' {
				n = i + 1
				break
			}
		}
		b, err := json.Marshal(LogEntry{Log: string(p[:n]), Stream: stream, Time: now})
		if err != nil {
			return err
		}
		l.bw.Write(b)
		l.bw.WriteByte('\n')
		p = p[n:]
	}
	return l.bw.Flush()
}

// Close flushes and closes the log.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bw.Flush()
	return l.f.Close()
}

// ReadLog calls fn for each entry of the log at r.
func ReadLog(r io.Reader, fn func(LogEntry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e LogEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a torn last line of a killed writer
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}
