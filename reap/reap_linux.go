package reap

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals an operator or a container runtime sends; each
// goes on to the child. SIGCHLD is ours; synchronous signals (SIGSEGV and
// the like) and the Go runtime's SIGURG are not the child's business.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}

// Options adjust Run.
type Options struct {
	// Subreaper makes the calling process the reaper of its orphaned
	// descendants although it is not PID 1 (PR_SET_CHILD_SUBREAPER).
	Subreaper bool
	// Orphan, if set, is called with each process reaped other than the
	// child.
	Orphan func(pid int, status syscall.WaitStatus)
}

// IsInit reports whether this process is PID 1 of its PID namespace.
func IsInit() bool { return os.Getpid() == 1 }

// Main runs this binary again with the same arguments under Run and
// returns the exit code for this process. It is what main does as PID 1.
func Main() int {
	exe, err := os.Executable()
	if err == nil {
		var code int
		if code, err = Run(exe, os.Args, Options{}); err == nil {
			return code
		}
	}
	fmt.Fprintf(os.Stderr, "Error: hurricane as PID 1: %v (or start the container with an init, e.g. docker run --init)\n", err)
	return 1
}

// Run starts path with argv as a child in its own process group, forwards
// the signals it receives to it, and reaps every child process, orphans
// included, until the child exits. It returns the child's exit code, or
// 128+N if signal N killed it.
func Run(path string, argv []string, o Options) (int, error) {
	if o.Subreaper {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return 0, fmt.Errorf("become a child subreaper: %w", err)
		}
	}
	// Before the child starts, so a signal sent meanwhile is forwarded
	// rather than lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	// In its own process group the child gets each signal once, from us. On
	// a terminal (docker run -it) its group takes the foreground instead, so
	// Ctrl-C reaches it straight from the terminal and not us; changing the
	// foreground from the background needs SIGTTOU ignored.
	_, ttyErr := unix.IoctlGetTermios(0, unix.TCGETS)
	tty := ttyErr == nil
	if tty {
		signal.Ignore(unix.SIGTTOU, unix.SIGTTIN)
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0},
	})
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", path, err)
	}
	// p holds a pidfd where the kernel has them: a signal forwarded after
	// the child was reaped finds it gone instead of a process reusing its PID.
	defer p.Release()

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case s := <-sigs:
				_ = p.Signal(s)
			case <-done:
				return
			}
		}
	})
	ws, err := reap(p.Pid, o.Orphan)
	close(done)
	wg.Wait()
	if err != nil {
		return 0, err
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// reap waits for any child until child exits, then collects the orphans
// already exited and returns child's status. Nothing else in this process
// waits for children, so no exit status is taken from anyone.
func reap(child int, orphan func(int, syscall.WaitStatus)) (syscall.WaitStatus, error) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait for child %d: %w", child, err)
		}
		if pid != child {
			if orphan != nil {
				orphan(pid, ws)
			}
			continue
		}
		for {
			var ows syscall.WaitStatus
			opid, err := syscall.Wait4(-1, &ows, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || opid <= 0 {
				return ws, nil
			}
			if orphan != nil {
				orphan(opid, ows)
			}
		}
	}
}
