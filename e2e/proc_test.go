package e2e

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sleepSyscalls are the syscalls a thread in Python's time.sleep blocks in.
var sleepSyscalls = map[string]map[int]bool{
	"amd64": {35: true, 230: true, 23: true, 270: true}, // nanosleep, clock_nanosleep, select, pselect6
	"arm64": {101: true, 115: true, 72: true},           // nanosleep, clock_nanosleep, pselect6
}

// threadsSleeping counts the threads of pid blocked in a sleep syscall.
func threadsSleeping(pid int) (int, error) {
	calls := sleepSyscalls[runtime.GOARCH]
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/syscall")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if nr, err := strconv.Atoi(f[0]); err == nil && calls[nr] {
			n++
		}
	}
	return n, nil
}

// waitSleeping waits until at least n threads of pid sleep: n sync views
// calling time.sleep are running in the worker.
func waitSleeping(t *testing.T, pid, n int, timeout time.Duration) {
	t.Helper()
	if runtime.GOOS != "linux" || sleepSyscalls[runtime.GOARCH] == nil {
		t.Skipf("needs /proc/<pid>/task/*/syscall on linux/amd64 or linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	deadline := time.Now().Add(timeout)
	for {
		got, err := threadsSleeping(pid)
		if err != nil {
			t.Fatalf("reading the worker's threads: %v", err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d has %d threads in time.sleep after %s, want %d: the requests did not reach it", pid, got, timeout, n)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}
