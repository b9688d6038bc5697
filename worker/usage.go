package worker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Usage is a worker process's resource use, read from /proc.
type Usage struct {
	RSS int64         // resident set size, bytes
	CPU time.Duration // user + system time
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc's tick counts.
const clockTicks = 100

var errNoProc = errors.New("process statistics need Linux /proc")

// Usage reads the process's RSS and CPU time.
func (p *Process) Usage() (Usage, error) {
	return readUsage(p.pid)
}

func readUsage(pid int) (Usage, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/stat"); serr != nil {
				return Usage{}, errNoProc
			}
		}
		return Usage{}, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Usage{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	// After ')': state(3) ... utime(14) stime(15) ... rss(24).
	if len(f) < 22 {
		return Usage{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	rss, err3 := strconv.ParseInt(string(f[21]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Usage{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return Usage{
		RSS: rss * int64(os.Getpagesize()),
		CPU: time.Duration(utime+stime) * time.Second / clockTicks,
	}, nil
}
