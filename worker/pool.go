package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 10 * time.Second
	// A worker that lived this long resets the crash backoff.
	stableAfter = 10 * time.Second
	// How long a request waits in Go for a worker before it is refused.
	dispatchWait = 30 * time.Second
	// How long a worker with outstanding requests may send nothing before
	// Go asks it to spill them to another thread.
	spillAfter = 2 * time.Millisecond
)

var clockStart = time.Now()

// nanotime is a monotonic clock reading that fits an atomic.Int64.
func nanotime() int64 { return int64(time.Since(clockStart)) }

// Pool supervises the worker processes and dispatches requests to them.
type Pool struct {
	cfg      Config
	log      *slog.Logger
	python   string
	pkgDir   string
	sockDir  string
	sockPath string
	ln       net.Listener

	mu        sync.Mutex
	pending   map[string]*Process // spawned, by token, until both lanes attach
	slots     []*Process          // ready workers by slot; nil while (re)starting
	changed   chan struct{}       // closed and replaced when slots change
	waiting   atomic.Int64        // requests waiting in Go for a worker
	nextID    atomic.Uint32
	restartMu sync.Mutex
	restarts  map[Reason]int64
	replaceMu sync.Mutex     // one replacement at a time
	draining  sync.WaitGroup // replaced workers finishing their requests
	rotate    atomic.Uint32
	wg        sync.WaitGroup
}

// New prepares a pool: it resolves the interpreter, extracts the Python
// package and listens on a private Unix socket. Call Close when done.
func New(cfg Config, log *slog.Logger) (*Pool, error) {
	cfg = cfg.withDefaults()
	python, err := cfg.interpreter()
	if err != nil {
		return nil, err
	}
	pkgDir, err := extractPackage()
	if err != nil {
		return nil, err
	}
	// A short path: Unix socket paths are limited to ~100 bytes.
	dir, err := os.MkdirTemp("", "hc")
	if err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	sock := filepath.Join(dir, "w.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("listen on worker socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	pl := &Pool{
		cfg:      cfg,
		log:      log.With("component", "worker"),
		python:   python,
		pkgDir:   pkgDir,
		sockDir:  dir,
		sockPath: sock,
		ln:       ln,
		pending:  map[string]*Process{},
		restarts: map[Reason]int64{},
		changed:  make(chan struct{}),
	}
	pl.wg.Add(1)
	go pl.accept()
	return pl, nil
}

// Python is the interpreter the workers run.
func (pl *Pool) Python() string { return pl.python }

// Close stops listening and removes the socket directory.
func (pl *Pool) Close() {
	pl.ln.Close()
	pl.wg.Wait()
	os.RemoveAll(pl.sockDir)
}

func (pl *Pool) register(p *Process) {
	pl.mu.Lock()
	pl.pending[p.token] = p
	pl.mu.Unlock()
}

func (pl *Pool) unregister(p *Process) {
	pl.mu.Lock()
	delete(pl.pending, p.token)
	pl.mu.Unlock()
}

func (pl *Pool) accept() {
	defer pl.wg.Done()
	for {
		c, err := pl.ln.Accept()
		if err != nil {
			return
		}
		if uc, ok := c.(*net.UnixConn); ok {
			// One write of a body chunk fits without waiting for the worker
			// to read part of it (the kernel caps it at net.core.wmem_max).
			_ = uc.SetWriteBuffer(socketBuffer)
		}
		go pl.handshake(c)
	}
}

// handshake reads a connection's hello and attaches it to its process.
func (pl *Pool) handshake(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := protocol.NewReader(c)
	f, err := rd.Next()
	if err != nil || f.Type != protocol.TypeHello {
		c.Close()
		return
	}
	var h protocol.Hello
	if err := json.Unmarshal(f.Payload, &h); err != nil {
		c.Close()
		return
	}
	pl.mu.Lock()
	p := pl.pending[h.Token]
	pl.mu.Unlock()
	welcome := protocol.Welcome{Protocol: protocol.Version}
	switch {
	case p == nil:
		welcome.Error = "unknown worker token"
	case h.Protocol != protocol.Version:
		welcome.Error = fmt.Sprintf("worker speaks protocol %d, this binary %d", h.Protocol, protocol.Version)
	}
	b, _ := protocol.AppendJSON(nil, protocol.TypeWelcome, 0, welcome)
	if _, err := c.Write(b); err != nil || welcome.Error != "" {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if err := p.attach(c, h); err != nil {
		pl.log.Warn("refused worker connection", "error", err)
		c.Close()
		return
	}
	if h.Lane == "control" {
		p.log.Debug("worker connected", "python", h.Python, "django", h.Django, "package", h.Package)
	}
}

// Start launches every worker and waits until all are ready. On failure it
// stops the ones that started.
func (pl *Pool) Start(ctx context.Context, sv Serving) error {
	pl.mu.Lock()
	pl.cfg.Serving = sv.withDefaults()
	pl.slots = make([]*Process, pl.cfg.Processes)
	pl.mu.Unlock()
	procs := make([]*Process, len(pl.slots))
	errs := make([]error, len(pl.slots))
	var wg sync.WaitGroup
	for i := range pl.slots {
		wg.Go(func() {
			p, err := pl.spawn(i, "serve")
			if err == nil {
				err = p.waitReady(ctx, pl.cfg.StartTimeout)
			}
			procs[i], errs[i] = p, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range procs {
			if p != nil {
				p.kill()
			}
		}
		return firstError(errs)
	}
	for i, p := range procs {
		pl.setSlot(i, p)
		p.log.Info("worker ready", "pid", p.pid, "threads", p.hello.Threads)
	}
	return nil
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (pl *Pool) setSlot(i int, p *Process) {
	if p != nil {
		go p.watchProgress()
	}
	pl.mu.Lock()
	pl.slots[i] = p
	close(pl.changed)
	pl.changed = make(chan struct{})
	pl.mu.Unlock()
}

// Open starts a stream on the ready worker with the fewest outstanding
// requests, waiting for one if none is ready.
func (pl *Pool) Open() (*Stream, error) {
	var deadline <-chan time.Time
	for {
		pl.mu.Lock()
		var best *Process
		for _, p := range pl.slots {
			if p != nil && !p.dead.Load() && (best == nil || p.Inflight() < best.Inflight()) {
				best = p
			}
		}
		changed := pl.changed
		pl.mu.Unlock()
		if best != nil {
			id := pl.nextID.Add(1)
			if id == 0 {
				id = pl.nextID.Add(1)
			}
			s := newStream(id, best)
			if best.addStream(s) {
				return s, nil
			}
			continue
		}
		if deadline == nil {
			t := time.NewTimer(dispatchWait)
			defer t.Stop()
			deadline = t.C
			pl.waiting.Add(1)
			defer pl.waiting.Add(-1)
		}
		select {
		case <-changed:
		case <-deadline:
			return nil, ErrNoWorker
		}
	}
}

// Alive is the number of ready workers.
func (pl *Pool) Alive() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	n := 0
	for _, p := range pl.slots {
		if p != nil && !p.dead.Load() {
			n++
		}
	}
	return n
}

// Workers returns the ready workers.
func (pl *Pool) Workers() []*Process {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	out := make([]*Process, 0, len(pl.slots))
	for _, p := range pl.slots {
		if p != nil && !p.dead.Load() {
			out = append(out, p)
		}
	}
	return out
}

// QueueLengthWith is QueueLength when one worker's statistics are already
// known, asking only the others.
func (pl *Pool) QueueLengthWith(ctx context.Context, known *Process, st protocol.Stats) (int, error) {
	n := int(pl.waiting.Load())
	for _, p := range pl.Workers() {
		s := st
		if p != known {
			var err error
			if s, err = p.Stats(ctx); err != nil {
				return 0, err
			}
		}
		n += max(0, p.Inflight()-s.Active)
	}
	return n, nil
}

// QueueLength is the number of accepted requests whose view has not started:
// those waiting in Go for a worker plus those each worker holds but has not
// started yet.
func (pl *Pool) QueueLength(ctx context.Context) (int, error) {
	n := int(pl.waiting.Load())
	for _, p := range pl.Workers() {
		st, err := p.Stats(ctx)
		if err != nil {
			return 0, err
		}
		n += max(0, p.Inflight()-st.Active)
	}
	return n, nil
}

// Shutdown asks every worker to finish and exit, killing those that do not
// within timeout.
func (pl *Pool) Shutdown(ctx context.Context, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, p := range pl.Workers() {
		wg.Go(func() { p.shutdown(ctx, timeout) })
	}
	wg.Wait()
	pl.draining.Wait()
}

// Setup starts a short-lived worker with only a control lane, for the work
// before serving: the settings snapshot, system checks, migration checks.
// Stop it when done.
func (pl *Pool) Setup(ctx context.Context) (*Process, error) {
	p, err := pl.spawn(-1, "snapshot")
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, pl.cfg.StartTimeout); err != nil {
		return nil, err
	}
	return p, nil
}

// Snapshot reads the named Django settings with a short-lived worker.
func (pl *Pool) Snapshot(ctx context.Context, names []string) (map[string]any, error) {
	p, err := pl.Setup(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Stop(5 * time.Second)
	return p.Settings(ctx, names)
}

// Next returns a ready worker, rotating among them, for control operations
// such as health checks.
func (pl *Pool) Next() *Process {
	ws := pl.Workers()
	if len(ws) == 0 {
		return nil
	}
	return ws[int(pl.rotate.Add(1))%len(ws)]
}
