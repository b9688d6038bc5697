package worker

import (
	"bufio"
	"net"
	"sync"

	"github.com/hurricane-run/hurricane/protocol"
)

// sender batches frames from many goroutines into few writes: callers append
// under a mutex and one goroutine writes whatever has accumulated. A large
// payload is instead written by its caller (writeLarge), after the batch
// before it, without being copied into the batch.
type sender struct {
	c      net.Conn
	wmu    sync.Mutex // held while writing to c, so writes keep append order
	mu     sync.Mutex
	buf    []byte
	spare  []byte
	notify chan struct{}
	closed bool
	done   chan struct{}
}

// largePayload is the payload size from which writeLarge skips the batch.
const largePayload = 64 << 10

// socketBuffer is the send buffer asked for on each worker connection.
const socketBuffer = 2 << 20

func newSender(c net.Conn) *sender {
	s := &sender{c: c, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go s.loop()
	return s
}

// append adds frames built by fn to the next write. It reports false once
// the connection is closed.
func (s *sender) append(fn func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errLaneClosed
	}
	b, err := fn(s.buf)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.buf = b
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// writeLarge writes the frame whose header fn appends, followed by payload,
// after everything appended before it; the caller keeps payload, which is
// not referenced once writeLarge returns.
func (s *sender) writeLarge(fn func([]byte) []byte, payload []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errLaneClosed
	}
	out := fn(s.buf)
	s.buf = s.spare[:0]
	s.spare = nil
	s.mu.Unlock()
	bufs := net.Buffers{out, payload}
	_, err := bufs.WriteTo(s.c)
	s.recycle(out)
	if err != nil {
		s.close()
	}
	return err
}

func (s *sender) loop() {
	defer close(s.done)
	for range s.notify {
		s.wmu.Lock()
		s.mu.Lock()
		out := s.buf
		s.buf = s.spare[:0]
		s.spare = nil
		closed := s.closed
		s.mu.Unlock()
		if len(out) > 0 {
			if _, err := s.c.Write(out); err != nil {
				s.wmu.Unlock()
				s.close()
				return
			}
		}
		s.recycle(out)
		s.wmu.Unlock()
		if closed {
			return
		}
	}
}

// recycle keeps a written batch's buffer as the next spare, unless it grew
// large. The spare is taken (set to nil) whenever it becomes s.buf, so a
// buffer is never both filled and handed out again.
func (s *sender) recycle(out []byte) {
	if cap(out) > 1<<20 {
		return
	}
	s.mu.Lock()
	if s.spare == nil {
		s.spare = out[:0]
	}
	s.mu.Unlock()
}

func (s *sender) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.c.Close()
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// readFrames calls fn for each frame until the connection fails. alloc,
// when not nil, is the reader's protocol.Reader.Alloc.
func readFrames(c net.Conn, alloc func(protocol.Type, int) []byte, fn func(protocol.Frame)) error {
	rd := protocol.NewReader(bufio.NewReaderSize(c, 256<<10))
	rd.Alloc = alloc
	for {
		f, err := rd.Next()
		if err != nil {
			return err
		}
		fn(f)
	}
}
