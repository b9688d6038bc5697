package worker

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Reason says why a worker was replaced; it labels the restart count.
type Reason string

// Why workers are replaced.
const (
	ReasonExit         Reason = "exit"         // it exited or crashed on its own
	ReasonUnresponsive Reason = "unresponsive" // its control lane kept missing deadlines
	ReasonMemory       Reason = "memory"       // its RSS went above --max-memory
	ReasonReload       Reason = "reload"       // the project's code changed (--autoreload)
)

// memoryCheckEvery is how often worker RSS is compared with MaxMemory.
const memoryCheckEvery = 500 * time.Millisecond

// Run supervises the workers until ctx ends, replacing any that exit and,
// with MaxMemory set, any that grow above it.
func (pl *Pool) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range pl.slots {
		wg.Go(func() { pl.supervise(ctx, i) })
	}
	if pl.cfg.MaxMemory > 0 {
		wg.Go(func() { pl.watchMemory(ctx) })
	}
	wg.Wait()
	return nil
}

func (pl *Pool) supervise(ctx context.Context, slot int) {
	backoff := backoffMin
	for {
		pl.mu.Lock()
		p := pl.slots[slot]
		changed := pl.changed
		pl.mu.Unlock()
		if p != nil {
			started := time.Now()
			select {
			case <-ctx.Done():
				return
			case <-changed:
				continue // replaced: watch the new one
			case <-p.exited:
			}
			if !pl.clearSlot(slot, p) {
				continue
			}
			reason := p.killedFor()
			pl.countRestart(reason)
			pl.log.Error("worker exited; replacing it", "worker", slot, "pid", p.pid, "reason", reason, "error", p.exitErr)
			if time.Since(started) > stableAfter {
				backoff = backoffMin
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		np, err := pl.spawn(slot, "serve")
		if err == nil {
			err = np.waitReady(ctx, pl.cfg.StartTimeout)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			pl.log.Error("worker failed to start; retrying", "worker", slot, "error", err, "backoff", backoff)
			backoff = min(backoff*2, backoffMax)
			continue
		}
		pl.setSlot(slot, np)
		np.log.Info("worker ready", "pid", np.pid, "threads", np.hello.Threads)
	}
}

// clearSlot empties slot if it still holds p.
func (pl *Pool) clearSlot(slot int, p *Process) bool {
	pl.mu.Lock()
	held := pl.slots[slot] == p
	pl.mu.Unlock()
	if held {
		pl.setSlot(slot, nil)
	}
	return held
}

func (pl *Pool) countRestart(r Reason) {
	pl.restartMu.Lock()
	pl.restarts[r]++
	pl.restartMu.Unlock()
}

// Restarts counts worker replacements by reason.
func (pl *Pool) Restarts() map[Reason]int64 {
	pl.restartMu.Lock()
	defer pl.restartMu.Unlock()
	out := make(map[Reason]int64, len(pl.restarts))
	for r, n := range pl.restarts {
		out[r] = n
	}
	return out
}

// Kill stops a worker at once; the supervisor replaces it and counts the
// restart under reason.
func (pl *Pool) Kill(p *Process, reason Reason) {
	pl.log.Error("killing worker", "worker", p.slot, "pid", p.pid, "reason", reason)
	p.reason.Store(reason)
	p.kill()
}

func (p *Process) killedFor() Reason {
	if r, ok := p.reason.Load().(Reason); ok {
		return r
	}
	return ReasonExit
}

// ErrReplaceFailed means a replacement worker did not start; the old one
// keeps serving.
var ErrReplaceFailed = errors.New("replacement worker did not start")

// Replace swaps the worker in slot for a new one without losing a request:
// the new worker is started and takes new requests before the old one is
// asked to finish its in-flight requests (within DrainTimeout) and exit. If
// the new one cannot start, the old one keeps serving.
func (pl *Pool) Replace(ctx context.Context, slot int, reason Reason) error {
	pl.replaceMu.Lock()
	defer pl.replaceMu.Unlock()
	pl.mu.Lock()
	old := pl.slots[slot]
	pl.mu.Unlock()
	np, err := pl.spawn(slot, "serve")
	if err == nil {
		err = np.waitReady(ctx, pl.cfg.StartTimeout)
		if err != nil {
			np.kill()
		}
	}
	if err != nil {
		return errors.Join(ErrReplaceFailed, err)
	}
	pl.setSlot(slot, np)
	pl.countRestart(reason)
	np.log.Info("worker replaced", "pid", np.pid, "reason", reason)
	if old != nil {
		old.reason.Store(reason)
		pl.draining.Go(func() {
			// Requests routed to it before the swap may still be on their
			// way: it stops only once Go has none outstanding there.
			old.waitIdle(pl.cfg.DrainTimeout)
			old.shutdown(context.WithoutCancel(ctx), pl.cfg.DrainTimeout)
		})
	}
	return nil
}

// ReplaceAll replaces every worker, one slot at a time, so some worker
// always serves.
func (pl *Pool) ReplaceAll(ctx context.Context, reason Reason) error {
	var errs []error
	for slot := range pl.slots {
		if err := pl.Replace(ctx, slot, reason); err != nil {
			errs = append(errs, err)
			break // the next one would fail the same way
		}
	}
	return errors.Join(errs...)
}

// watchMemory replaces workers whose RSS went above MaxMemory.
func (pl *Pool) watchMemory(ctx context.Context) {
	limit := pl.cfg.MaxMemory
	pl.log.Info("memory check on", "max_memory_mb", limit>>20)
	t := time.NewTicker(memoryCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range pl.Workers() {
			u, err := p.Usage()
			if err != nil || u.RSS <= limit {
				continue
			}
			pl.log.Warn("worker memory above --max-memory; replacing it", "worker", p.slot, "pid", p.pid,
				"rss_mb", u.RSS>>20, "max_memory_mb", limit>>20)
			if err := pl.Replace(ctx, p.slot, ReasonMemory); err != nil && ctx.Err() == nil {
				pl.log.Error("could not replace worker", "worker", p.slot, "error", err)
			}
		}
	}
}

// idlePoll is how often waitIdle looks at a replaced worker's requests.
const idlePoll = 10 * time.Millisecond

// waitIdle waits until Go has no request outstanding on the process, it
// exited, or timeout passed.
func (p *Process) waitIdle(timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	t := time.NewTicker(idlePoll)
	defer t.Stop()
	for p.Inflight() > 0 {
		select {
		case <-p.exited:
			return
		case <-deadline.C:
			return
		case <-t.C:
		}
	}
}
