package serve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/worker"
)

// missesBeforeKill is how many control-lane deadlines in a row a worker may
// miss before it is treated as hung and replaced.
const missesBeforeKill = 3

// poolChecker runs the probes' checks on the workers, rotating among them.
type poolChecker struct {
	pool   *worker.Pool
	mu     sync.Mutex
	misses map[*worker.Process]int
}

var _ probe.Checker = (*poolChecker)(nil)

func newPoolChecker(pool *worker.Pool) *poolChecker {
	return &poolChecker{pool: pool, misses: map[*worker.Process]int{}}
}

func (c *poolChecker) Probe(ctx context.Context, tag string, databases bool, aliases []string) (probe.Report, error) {
	p := c.pool.Next()
	if p == nil {
		return probe.Report{}, probe.ErrCheckTimeout
	}
	args := protocol.ProbeArgs{Tag: tag, Databases: databases, Aliases: aliases}
	if d, ok := ctx.Deadline(); ok {
		// Leave time for the answer to travel: a slow database reads as a
		// database error, not as a hung worker.
		args.Timeout = time.Until(d).Seconds() * 0.6
	}
	res, err := p.Probe(ctx, args)
	if err = c.outcome(p, err); err != nil {
		return probe.Report{}, err
	}
	r := probe.Report{DBErrors: res.DBErrors}
	if res.Checks.Failed {
		var texts []string
		for _, m := range res.Checks.Messages {
			if m.Serious {
				texts = append(texts, m.Text)
			}
		}
		r.Failure = strings.Join(texts, "; ")
	}
	if r.Queue, err = c.pool.QueueLengthWith(ctx, p, res.Stats); err != nil {
		return probe.Report{}, c.outcome(p, err)
	}
	return r, nil
}

// outcome counts missed deadlines and replaces a worker that keeps missing.
func (c *poolChecker) outcome(p *worker.Process, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.misses, p)
		return nil
	}
	var ce *worker.ControlError
	if errors.As(err, &ce) {
		delete(c.misses, p)
		return &probe.CheckFailure{Detail: ce.Message}
	}
	if errors.Is(err, worker.ErrControlTimeout) {
		c.misses[p]++
		if c.misses[p] >= missesBeforeKill {
			delete(c.misses, p)
			c.pool.Kill(p, worker.ReasonUnresponsive)
		}
	}
	return probe.ErrCheckTimeout
}
