package archive

import (
	"archive/tar"
	"fmt"
	"hash"
	"hash/crc64"
	"io"

	"github.com/vbatts/tar-split/tar/storage"
)

// Option configures Apply.
type Option func(*options)

type options struct {
	packer storage.Packer
}

// WithTarSplit records the layer's tar-split metadata into p while Apply
// reads the stream: every byte that is not file content (headers, padding,
// the end-of-archive blocks and whatever follows them) as segments, and
// each file's name, size and CRC-64. With the files Apply wrote, it
// reproduces the stream byte for byte (tar-split's asm.NewOutputTarStream).
// Apply then reads r to its end. Recording happens in the same pass as
// the unpacking: one tar parse, no extra goroutine.
func WithTarSplit(p storage.Packer) Option { return func(o *options) { o.packer = p } }

// splitReader sits between the stream and the tar reader and sorts what
// the tar reader consumes into segments and file payloads.
type splitReader struct {
	r      io.Reader
	p      storage.Packer
	seg    []byte // non-payload bytes since the last entry was recorded
	remain int64  // payload bytes of the current entry still to come
	name   string
	size   int64
	crc    hash.Hash64
	inFile bool
	err    error // the first packer error
}

func newSplitReader(r io.Reader, p storage.Packer) *splitReader {
	return &splitReader{r: r, p: p, crc: crc64.New(storage.CRCTable)}
}

func (s *splitReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.account(b[:n])
	return n, err
}

func (s *splitReader) account(b []byte) {
	for len(b) > 0 {
		if !s.inFile {
			s.seg = append(s.seg, b...)
			return
		}
		k := min(int64(len(b)), s.remain)
		s.crc.Write(b[:k])
		s.remain -= k
		b = b[k:]
		if s.remain == 0 {
			s.endFile()
		}
	}
}

// header is called when the tar reader returned hdr: what it read up to now
// is the header (and the previous entry's padding).
func (s *splitReader) header(hdr *tar.Header) {
	s.flush()
	s.name, s.crc = hdr.Name, crc64.New(storage.CRCTable)
	s.size = hdr.Size
	switch hdr.Typeflag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		s.size = 0 // header-only types: the tar reader reads no payload
	}
	s.remain = s.size
	s.inFile = true
	if s.remain == 0 {
		s.endFile()
	}
}

func (s *splitReader) endFile() {
	s.inFile = false
	e := storage.Entry{Type: storage.FileType, Size: s.size}
	if s.size > 0 {
		e.Payload = s.crc.Sum(nil)
	}
	e.SetName(s.name)
	s.add(e)
}

// flush records the pending segment.
func (s *splitReader) flush() {
	if len(s.seg) > 0 {
		s.add(storage.Entry{Type: storage.SegmentType, Payload: s.seg})
		s.seg = nil
	}
}

func (s *splitReader) add(e storage.Entry) {
	if s.err != nil {
		return
	}
	if _, err := s.p.AddEntry(e); err != nil {
		s.err = fmt.Errorf("record tar-split metadata: %w", err)
	}
}

// finish reads the stream to its end, recording the rest as a segment.
func (s *splitReader) finish() error {
	if _, err := io.Copy(io.Discard, s); err != nil {
		return fmt.Errorf("read layer tar: %w", err)
	}
	s.flush()
	return s.err
}
