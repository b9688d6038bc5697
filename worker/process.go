package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

// StartError is a worker that failed before it was ready, with what the
// worker said about it.
type StartError struct {
	Msg  string
	Hint string
}

func (e *StartError) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + "; " + e.Hint
}

// ControlError is an operation that failed inside the worker.
type ControlError struct {
	Slot      int    `json:"-"`
	Message   string `json:"error"`
	Kind      string `json:"kind"` // "database" when the database is unreachable
	Traceback string `json:"traceback"`
}

func (e *ControlError) Error() string { return e.Message }

// IsDatabase reports whether the database could not be reached.
func (e *ControlError) IsDatabase() bool { return e.Kind == "database" }

// ErrControlTimeout means the worker did not answer a control operation in time.
var ErrControlTimeout = errors.New("worker did not answer in time")

// Process is one Python worker process and its two lanes.
type Process struct {
	slot  int
	token string
	log   *slog.Logger
	cmd   *exec.Cmd
	pid   int

	mu      sync.Mutex
	data    *sender
	control *sender
	region  *bodyRegion // nil when response bodies all go through the socket
	hello   protocol.Hello
	ready   chan struct{} // closed once every lane this process needs is attached
	needs   int           // lanes still to attach
	exited  chan struct{} // closed when the process has exited
	exitErr error
	fatal   *StartError

	dead   atomic.Bool  // a lane closed: take no more requests
	reason atomic.Value // Reason it was killed for, when Go killed it

	streamsMu sync.Mutex
	streams   map[uint32]*Stream
	inflight  atomic.Int64
	// progress is when the worker last sent a data frame, or got work while
	// idle (monotonic nanoseconds since the pool started).
	progress atomic.Int64

	ctlMu   sync.Mutex
	ctlNext uint32
	ctlWait map[uint32]chan controlAnswer
}

type controlAnswer struct {
	status uint8
	body   []byte
}

func newProcess(slot int, token string, lanes int, log *slog.Logger) *Process {
	return &Process{
		slot:    slot,
		token:   token,
		log:     log,
		needs:   lanes,
		ready:   make(chan struct{}),
		exited:  make(chan struct{}),
		streams: map[uint32]*Stream{},
		ctlWait: map[uint32]chan controlAnswer{},
	}
}

// Slot is the worker's slot, 0 to processes-1 (-1 for a setup worker).
func (p *Process) Slot() int { return p.slot }

// PID is the worker's process ID.
func (p *Process) PID() int { return p.pid }

// attach binds a connection that said hello to one of this process's lanes.
func (p *Process) attach(c net.Conn, h protocol.Hello) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := newSender(c)
	switch h.Lane {
	case "data":
		if p.data != nil {
			return errors.New("data lane attached twice")
		}
		p.data = s
		go p.readData(c)
	case "control":
		if p.control != nil {
			return errors.New("control lane attached twice")
		}
		p.control = s
		go p.readControl(c)
	default:
		return fmt.Errorf("unknown lane %q", h.Lane)
	}
	p.hello = h
	p.needs--
	if p.needs == 0 {
		close(p.ready)
	}
	return nil
}

func (p *Process) readData(c net.Conn) {
	err := readFrames(c, allocBody, p.onDataFrame)
	p.log.Debug("data lane closed", "error", err)
	p.dead.Store(true)
	p.data.close()
	p.failStreams()
}

func (p *Process) onDataFrame(f protocol.Frame) {
	p.progress.Store(nanotime())
	if f.Type == protocol.TypeBodySlotsFree {
		slots, err := protocol.DecodeSlots(f.Payload)
		if err == nil {
			err = p.region.giveRequests(slots)
		}
		if err != nil {
			p.log.Error("malformed request slots from worker", "error", err)
		}
		return
	}
	p.streamsMu.Lock()
	s := p.streams[f.Stream]
	p.streamsMu.Unlock()
	if f.Type == protocol.TypeResponseShared {
		p.onSharedBody(s, f)
		return
	}
	if s == nil {
		return
	}
	switch f.Type {
	case protocol.TypeResponseStart:
		payload := append([]byte(nil), f.Payload...)
		r, err := protocol.DecodeResponseStart(payload, f.Flags)
		if err != nil {
			p.log.Error("malformed response from worker", "error", err)
			s.push(Event{Kind: EventAbort})
			return
		}
		s.push(Event{Kind: EventStart, Status: r.Status, Route: r.Route, Headers: r.Headers, Body: r.Body, More: f.MoreBody()})
	case protocol.TypeResponseBody:
		body := f.Payload
		if !pooledBody(f.Type, len(body)) {
			body = append([]byte(nil), body...)
		}
		s.push(Event{Kind: EventBody, Body: body, More: f.MoreBody()})
	case protocol.TypeBodyRead:
		s.push(Event{Kind: EventRead})
	case protocol.TypeResponseAbort:
		s.push(Event{Kind: EventAbort})
	case protocol.TypeSettle:
		s.push(Event{Kind: EventSettle, Payload: append([]byte(nil), f.Payload...)})
	case protocol.TypeMessageDone:
		s.push(Event{Kind: EventDone, Payload: append([]byte(nil), f.Payload...)})
	case protocol.TypePublish:
		s.push(Event{Kind: EventPublish, Payload: append([]byte(nil), f.Payload...)})
	default:
		p.log.Warn("unexpected frame from worker", "type", f.Type)
	}
}

// onSharedBody takes a response body chunk from the shared body region; a
// chunk for a stream already gone gives its slot straight back.
func (p *Process) onSharedBody(s *Stream, f protocol.Frame) {
	b, err := protocol.DecodeShared(f.Payload)
	var body []byte
	if err == nil {
		body, err = p.region.take(b)
	}
	if err != nil {
		p.log.Error("malformed response from worker", "error", err)
		if s != nil {
			s.push(Event{Kind: EventAbort})
		}
		return
	}
	if s == nil {
		p.freeShared(b)
		return
	}
	s.push(Event{Kind: EventBody, Body: body, More: f.MoreBody(), shared: true, region: b})
}

// freeShared gives the slots of a shared body chunk back to the worker.
func (p *Process) freeShared(b protocol.SharedBody) {
	slots := p.region.give(b)
	if len(slots) == 0 {
		return
	}
	_ = p.data.append(func(dst []byte) ([]byte, error) {
		return protocol.AppendSlots(dst, protocol.TypeSlotsFree, slots...), nil
	})
}

func (p *Process) failStreams() {
	p.dead.Store(true)
	if p.region != nil {
		p.region.abandon()
	}
	p.streamsMu.Lock()
	streams := p.streams
	p.streams = map[uint32]*Stream{}
	p.streamsMu.Unlock()
	for _, s := range streams {
		s.push(Event{Kind: EventGone})
	}
}

func (p *Process) addStream(s *Stream) bool {
	p.streamsMu.Lock()
	defer p.streamsMu.Unlock()
	if p.dead.Load() {
		return false
	}
	p.streams[s.id] = s
	if p.inflight.Add(1) == 1 {
		p.progress.Store(nanotime())
	}
	return true
}

func (p *Process) removeStream(id uint32) {
	p.streamsMu.Lock()
	if _, ok := p.streams[id]; ok {
		delete(p.streams, id)
		p.inflight.Add(-1)
	}
	p.streamsMu.Unlock()
}

// watchProgress sends a spill to the worker whenever requests are
// outstanding but it has sent nothing for spillAfter: its leader thread is
// probably blocked in a view, and queued requests should get another thread.
// Python itself never polls for this.
func (p *Process) watchProgress() {
	t := time.NewTicker(spillAfter)
	defer t.Stop()
	var lastSpill int64
	for {
		select {
		case <-p.exited:
			return
		case <-t.C:
		}
		now := nanotime()
		if p.inflight.Load() == 0 || now-p.progress.Load() < int64(spillAfter) || now-lastSpill < int64(spillAfter) {
			continue
		}
		lastSpill = now
		_ = p.control.append(func(b []byte) ([]byte, error) {
			return protocol.AppendControlRequest(b, 0, protocol.OpSpill, nil)
		})
	}
}

// Inflight is the number of requests this worker has been given and not
// finished.
func (p *Process) Inflight() int { return int(p.inflight.Load()) }

func (p *Process) readControl(c net.Conn) {
	err := readFrames(c, nil, func(f protocol.Frame) {
		if f.Type != protocol.TypeControlResponse {
			return
		}
		status, body, err := protocol.DecodeControlResponse(f.Payload)
		if err != nil {
			return
		}
		p.ctlMu.Lock()
		ch := p.ctlWait[f.Stream]
		delete(p.ctlWait, f.Stream)
		p.ctlMu.Unlock()
		if ch != nil {
			ch <- controlAnswer{status, append([]byte(nil), body...)}
		}
	})
	p.log.Debug("control lane closed", "error", err)
	p.dead.Store(true)
	p.control.close()
}

// Control runs a control operation and decodes its answer into out (if not
// nil). It fails when ctx ends first, so a hung worker cannot block probes.
func (p *Process) Control(ctx context.Context, op protocol.Op, args, out any) error {
	p.ctlMu.Lock()
	p.ctlNext++
	id := p.ctlNext
	ch := make(chan controlAnswer, 1)
	p.ctlWait[id] = ch
	p.ctlMu.Unlock()
	defer func() {
		p.ctlMu.Lock()
		delete(p.ctlWait, id)
		p.ctlMu.Unlock()
	}()
	if err := p.control.append(func(b []byte) ([]byte, error) {
		return protocol.AppendControlRequest(b, id, op, args)
	}); err != nil {
		return fmt.Errorf("worker %d: %w", p.slot, err)
	}
	select {
	case a := <-ch:
		if a.status != protocol.StatusOK {
			e := &ControlError{Slot: p.slot}
			_ = json.Unmarshal(a.body, e)
			return e
		}
		if out != nil {
			return json.Unmarshal(a.body, out)
		}
		return nil
	case <-p.exited:
		return fmt.Errorf("worker %d: %w", p.slot, errLaneClosed)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("worker %d: %w", p.slot, ErrControlTimeout)
		}
		return fmt.Errorf("worker %d control lane: %w", p.slot, context.Cause(ctx))
	}
}

// Checks runs Django system checks in the worker.
func (p *Process) Checks(ctx context.Context, args protocol.CheckArgs) (protocol.CheckResult, error) {
	var r protocol.CheckResult
	err := p.Control(ctx, protocol.OpChecks, args, &r)
	return r, err
}

// Probe runs a probe's checks in one round trip.
func (p *Process) Probe(ctx context.Context, args protocol.ProbeArgs) (protocol.ProbeResult, error) {
	var r protocol.ProbeResult
	err := p.Control(ctx, protocol.OpProbe, args, &r)
	return r, err
}

// FindStatic asks Django's staticfiles finders for a static file.
func (p *Process) FindStatic(ctx context.Context, rel string) (string, bool, error) {
	var r struct {
		Path *string `json:"path"`
	}
	if err := p.Control(ctx, protocol.OpFindStatic, map[string]string{"path": rel}, &r); err != nil {
		return "", false, err
	}
	if r.Path == nil {
		return "", false, nil
	}
	return *r.Path, true, nil
}

// Databases runs SELECT 1 on the databases and returns the failing ones.
func (p *Process) Databases(ctx context.Context, aliases []string) (map[string]string, error) {
	var r protocol.DatabaseResult
	err := p.Control(ctx, protocol.OpDatabase, protocol.DatabaseArgs{Aliases: aliases}, &r)
	return r.Errors, err
}

// PendingMigrations counts unapplied migrations.
func (p *Process) PendingMigrations(ctx context.Context) (int, error) {
	var r protocol.MigrationResult
	err := p.Control(ctx, protocol.OpMigrate, nil, &r)
	return r.Pending, err
}

// Settings reads the named Django settings that are set.
func (p *Process) Settings(ctx context.Context, names []string) (map[string]any, error) {
	out := map[string]any{}
	if err := p.Control(ctx, protocol.OpSettings, map[string][]string{"names": names}, &out); err != nil {
		return nil, fmt.Errorf("read django settings: %w", err)
	}
	return out, nil
}

// Handler imports and checks an AMQP handler class.
func (p *Process) Handler(ctx context.Context, args protocol.HandlerArgs) (protocol.HandlerInfo, error) {
	var out protocol.HandlerInfo
	err := p.Control(ctx, protocol.OpHandler, args, &out)
	return out, err
}

// Stop shuts the worker down, killing it after timeout.
func (p *Process) Stop(timeout time.Duration) { p.shutdown(context.Background(), timeout) }

// Stats asks the worker for its part of the request queue.
func (p *Process) Stats(ctx context.Context) (protocol.Stats, error) {
	var st protocol.Stats
	err := p.Control(ctx, protocol.OpStats, nil, &st)
	return st, err
}

// shutdown asks the worker to finish and exit, then kills it if it has not
// exited when ctx ends.
func (p *Process) shutdown(ctx context.Context, timeout time.Duration) {
	if p.control != nil {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		_ = p.Control(cctx, protocol.OpShutdown, map[string]float64{"timeout": timeout.Seconds()}, nil)
		cancel()
	}
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.kill()
		<-p.exited
	case <-ctx.Done():
		p.kill()
		<-p.exited
	}
}

func (p *Process) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Kill)
	}
}

func (p *Process) closeLanes() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.data != nil {
		p.data.close()
	}
	if p.control != nil {
		p.control.close()
	}
}
