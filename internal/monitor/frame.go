package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Kind is what a frame carries.
type Kind byte

// Frames from the monitor to a client.
const (
	Stdout Kind = 1 // output of the container (all of it with a terminal)
	Stderr Kind = 2
	Exit   Kind = 3 // payload: the exit code as 4 bytes big endian; the last frame
	Ready  Kind = 4 // the container process started; payload: its PID (4 bytes)
	Failed Kind = 5 // the container could not start; payload: the error text
)

// Frames from a client to the monitor.
const (
	Stdin    Kind = 16 // data for the container's stdin
	StdinEOF Kind = 17 // close the container's stdin
	Resize   Kind = 18 // payload: rows, cols (2 bytes each)
	Signal   Kind = 19 // payload: the signal number (4 bytes)
	Detach   Kind = 20 // the client leaves; the container goes on
)

// maxFrame bounds a frame's payload.
const maxFrame = 1 << 20

// Writer writes frames; it is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a frame writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sends one frame.
func (fw *Writer) Write(k Kind, payload []byte) error {
	if len(payload) > maxFrame {
		return fmt.Errorf("write frame: payload of %d bytes is too large", len(payload))
	}
	var hdr [5]byte
	hdr[0] = byte(k)
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, err := fw.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := fw.w.Write(payload)
	return err
}

// WriteUint32 sends a frame whose payload is one number.
func (fw *Writer) WriteUint32(k Kind, n uint32) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return fw.Write(k, b[:])
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (Kind, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, errors.New("read frame: payload too large")
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return Kind(hdr[0]), payload, nil
}

// Uint32 decodes a number payload.
func Uint32(p []byte) uint32 {
	if len(p) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}
