package worker

import (
	"errors"
	"sync"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

// EventKind says what a worker sent on a stream.
type EventKind uint8

// Stream events.
const (
	EventStart   EventKind = iota + 1 // http.response.start, with its first body chunk
	EventBody                         // http.response.body
	EventRead                         // the app wants the next request body chunk
	EventAbort                        // the app failed after the response started
	EventGone                         // the worker died
	EventSettle                       // an AMQP handler settled a delivery (Payload: protocol.Settle)
	EventDone                         // an AMQP handler returned (Payload: protocol.MessageDone)
	EventPublish                      // an AMQP handler publishes (Payload: protocol.Publish + body)
)

// Event is one thing a worker sent for a stream. Its slices are owned by the
// receiver; an EventBody's Body is given back with Stream.Release once
// written.
type Event struct {
	Kind    EventKind
	Status  int
	Route   []byte // the URL pattern Django resolved, nil for none
	Headers []protocol.Header
	Body    []byte
	More    bool
	Payload []byte // the frame of AMQP events, undecoded

	shared bool                // Body lies in the process's shared body region
	region protocol.SharedBody // where
}

var (
	errLaneClosed = errors.New("worker connection closed")
	// ErrNoWorker means no worker became ready in time to take a request.
	ErrNoWorker = errors.New("no worker available")
)

// Stream is one HTTP exchange with a worker.
type Stream struct {
	id     uint32
	proc   *Process
	mu     sync.Mutex
	events []Event
	signal chan struct{}
	gone   bool
	closed bool
}

func newStream(id uint32, p *Process) *Stream {
	return &Stream{id: id, proc: p, signal: make(chan struct{}, 1)}
}

// Slot is the worker slot serving the stream.
func (s *Stream) Slot() int { return s.proc.slot }

func (s *Stream) push(e Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.Release(e)
		return
	}
	if e.Kind == EventGone {
		s.gone = true
	}
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Next waits for the next event from the worker.
func (s *Stream) Next() Event {
	for {
		s.mu.Lock()
		if len(s.events) > 0 {
			e := s.events[0]
			s.events[0] = Event{}
			s.events = s.events[1:]
			s.mu.Unlock()
			return e
		}
		s.mu.Unlock()
		<-s.signal
	}
}

// Send sends the request scope with its first body chunk.
func (s *Stream) Send(r *protocol.Request, more bool) error {
	return s.proc.data.append(func(b []byte) ([]byte, error) {
		return protocol.AppendRequest(b, s.id, more, r)
	})
}

// SendMessage sends an AMQP delivery to the stream's handler.
func (s *Stream) SendMessage(d *protocol.Delivery, body []byte) error {
	return s.proc.data.append(func(b []byte) ([]byte, error) {
		return protocol.AppendMeta(b, protocol.TypeMessage, s.id, d, body)
	})
}

// SendBody sends a request body chunk.
func (s *Stream) SendBody(p []byte, more bool) error {
	var fl protocol.Flags
	if more {
		fl = protocol.FlagMoreBody
	}
	if len(p) >= largePayload {
		return s.proc.data.writeLarge(func(b []byte) []byte {
			return protocol.AppendHeader(b, protocol.TypeHTTPBody, fl, s.id, len(p))
		}, p)
	}
	return s.proc.data.append(func(b []byte) ([]byte, error) {
		return protocol.AppendFrame(b, protocol.TypeHTTPBody, fl, s.id, p), nil
	})
}

// BodySlot is a request slot of the stream's worker's shared body region,
// which a request body chunk is read into and sent from without a copy.
type BodySlot struct {
	region *bodyRegion
	slot   uint32
	// Buf is the slot's memory: the chunk is Buf[:n] for the n given to
	// Stream.SendShared.
	Buf []byte
}

// TakeBodySlot returns a free request slot of the stream's worker, waiting
// up to wait for one; false when its worker has no region or none came free.
func (s *Stream) TakeBodySlot(wait time.Duration) (BodySlot, bool) {
	r := s.proc.region
	if r == nil {
		return BodySlot{}, false
	}
	slot, buf, ok := r.takeRequest(wait)
	return BodySlot{region: r, slot: slot, Buf: buf}, ok
}

// Drop gives back a slot that was not sent. Its memory is not to be used
// after.
func (b BodySlot) Drop() {
	b.region.dropRequest(b.slot)
}

// SendShared sends the first n bytes of slot b as a request body chunk;
// with r, the request (which then has no body of its own) goes first. Once
// sent, the slot is the worker's; if sending fails it is still the
// caller's to Drop.
func (s *Stream) SendShared(r *protocol.Request, b BodySlot, n int, more bool) error {
	if b.region != s.proc.region {
		return errors.New("request slot of another worker")
	}
	var fl protocol.Flags
	if more {
		fl = protocol.FlagMoreBody
	}
	return s.proc.data.append(func(dst []byte) ([]byte, error) {
		if r != nil {
			var err error
			if dst, err = protocol.AppendRequest(dst, s.id, true, r); err != nil {
				return nil, err
			}
			fl |= protocol.FlagWithRequest
		}
		// Marked sent before the sender can write it, so the worker cannot
		// give the slot back first.
		b.region.sendRequest(b.slot)
		return protocol.AppendShared(dst, protocol.TypeBodyShared, s.id, fl, protocol.SharedBody{Slot: b.slot, Length: uint32(n)}), nil
	})
}

// Ack returns n bytes of response credit to the worker.
func (s *Stream) Ack(n int) error {
	return s.proc.data.append(func(b []byte) ([]byte, error) {
		return protocol.AppendBodyAck(b, s.id, uint32(n)), nil
	})
}

// Disconnect tells the app the client went away.
func (s *Stream) Disconnect() error {
	return s.proc.data.append(func(b []byte) ([]byte, error) {
		return protocol.AppendFrame(b, protocol.TypeHTTPDisconnect, 0, s.id, nil), nil
	})
}

// Release gives an EventBody's Body back once it is written (or will not
// be): a shared body slot to the worker, a pooled buffer to the pool. Other
// events need no release.
func (s *Stream) Release(e Event) {
	switch {
	case e.Kind != EventBody:
	case e.shared:
		s.proc.freeShared(e.region)
	default:
		releaseBody(e.Body)
	}
}

// Close ends the stream on the Go side, releasing the bodies of events
// nobody will take.
func (s *Stream) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	left := s.events
	s.events = nil
	s.mu.Unlock()
	s.proc.removeStream(s.id)
	for _, e := range left {
		s.Release(e)
	}
}
