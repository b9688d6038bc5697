package worker

import (
	"bufio"
	"net"
	"sync"

	"github.com/hurricane-run/hurricane/protocol"
)

// sender batches frames from many goroutines into few writes: callers append
// under a mutex and one goroutine writes whatever has accumulated.
type sender struct {
	c      net.Conn
	mu     sync.Mutex
	buf    []byte
	spare  []byte
	notify chan struct{}
	closed bool
	done   chan struct{}
}

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

func (s *sender) loop() {
	defer close(s.done)
	for range s.notify {
		s.mu.Lock()
		out := s.buf
		s.buf = s.spare[:0]
		closed := s.closed
		s.mu.Unlock()
		if len(out) > 0 {
			if _, err := s.c.Write(out); err != nil {
				s.close()
				return
			}
		}
		s.mu.Lock()
		// out becomes the next spare; a large one is dropped instead, and
		// then so is the old spare, which s.buf is using now: keeping it
		// would hand the buffer being filled to the next write as well.
		if cap(out) <= 1<<20 {
			s.spare = out[:0]
		} else {
			s.spare = nil
		}
		s.mu.Unlock()
		if closed {
			return
		}
	}
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
