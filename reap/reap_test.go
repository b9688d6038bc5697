//go:build linux

package reap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary plays every process: the test itself, the supervisor
// (Run as a subreaper, like PID 1), the child it runs, and the child's
// children. The role comes from the environment.
const roleEnv = "HURRICANE_REAP_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "supervisor":
		os.Exit(supervisor())
	case "child":
		child(os.Args[len(os.Args)-1])
	case "intermediate":
		intermediate()
	case "orphan":
		// Runs until the intermediate process, its parent, is gone.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(100)
}

// supervisor runs the child under Run and prints each orphan it reaps.
func supervisor() int {
	exe, _ := os.Executable()
	os.Setenv(roleEnv, "child") // Run passes the environment on
	code, err := Run(exe, os.Args, Options{
		Subreaper: true,
		Orphan: func(pid int, ws syscall.WaitStatus) {
			fmt.Printf("reaped %d exit %d\n", pid, ws.ExitStatus())
		},
	})
	if err != nil {
		fmt.Println("run:", err)
		return 101
	}
	return code
}

// child is what hurricane would be under Run. Its behaviour comes from its
// last argument.
func child(what string) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	switch what {
	case "exit3":
		os.Exit(3)
	case "killed":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "orphan":
		// A worker whose own child started a daemon and exited: the daemon
		// is re-parented to the nearest subreaper, the supervisor.
		exe, _ := os.Executable()
		c := exec.Command(exe)
		c.Env = append(os.Environ(), roleEnv+"=intermediate")
		out, err := c.Output()
		if err != nil {
			fmt.Println("intermediate:", err)
			os.Exit(102)
		}
		fmt.Printf("orphan %s\n", strings.TrimSpace(string(out)))
	case "signals":
		fmt.Println("ready")
	}
	interrupts := 0
	for s := range sigs {
		if s == syscall.SIGTERM {
			fmt.Printf("terminated after %d interrupts\n", interrupts)
			os.Exit(42)
		}
		interrupts++
		fmt.Println("interrupted")
	}
}

// intermediate starts the orphan, prints its PID and exits at once; the
// orphan's stdin is a pipe only this process writes to, so the orphan
// exits after it, as an orphan.
func intermediate() {
	r, w, err := os.Pipe()
	if err != nil {
		os.Exit(103)
	}
	exe, _ := os.Executable()
	c := exec.Command(exe)
	c.Env = append(os.Environ(), roleEnv+"=orphan")
	c.Stdin = r
	if err := c.Start(); err != nil {
		os.Exit(104)
	}
	fmt.Println(c.Process.Pid)
	_ = w // held open until this process exits
	os.Exit(0)
}

// supervised starts the supervisor with the child told what to do and
// returns it with a reader of their shared stdout.
func supervised(t *testing.T, what string, setup func(*exec.Cmd)) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, what)
	// Race-enabled helpers would each linger 1 s at exit.
	c.Env = append(os.Environ(), roleEnv+"=supervisor", "GORACE=atexit_sleep_ms=0")
	c.Stderr = os.Stderr
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(c)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// A hung supervisor fails the test instead of hanging it.
	stop := time.AfterFunc(time.Minute, func() { _ = c.Process.Kill() })
	t.Cleanup(func() { stop.Stop(); _ = c.Process.Kill(); _ = c.Wait() })
	return c, bufio.NewReader(out)
}

// line reads the next line the supervisor or its child printed.
func line(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read supervisor output: %v (last: %q)", err, s)
	}
	return strings.TrimSpace(s)
}

func exitCode(t *testing.T, c *exec.Cmd) int {
	t.Helper()
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestExitStatusPassesThrough(t *testing.T) {
	for _, tc := range []struct {
		child string
		want  int
	}{
		{"exit3", 3},
		{"killed", 128 + int(syscall.SIGKILL)},
	} {
		t.Run(tc.child, func(t *testing.T) {
			c, out := supervised(t, tc.child, nil)
			if rest, _ := io.ReadAll(out); len(rest) != 0 {
				t.Errorf("unexpected output %q", rest)
			}
			if got := exitCode(t, c); got != tc.want {
				t.Fatalf("supervisor exited %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOrphanReapedAndSignalForwarded(t *testing.T) {
	c, out := supervised(t, "orphan", nil)
	var orphan, reaped int
	for orphan == 0 || reaped == 0 {
		f := strings.Fields(line(t, out))
		switch {
		case len(f) == 2 && f[0] == "orphan":
			orphan, _ = strconv.Atoi(f[1])
		case len(f) == 4 && f[0] == "reaped" && f[3] == "0":
			reaped, _ = strconv.Atoi(f[1])
		default:
			t.Fatalf("unexpected output %q", f)
		}
	}
	if orphan != reaped {
		t.Fatalf("reaped %d, but the orphan was %d", reaped, orphan)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(orphan)); !os.IsNotExist(err) {
		t.Fatalf("orphan %d still in /proc after being reaped (%v)", orphan, err)
	}
	// The child is still running: SIGTERM to the supervisor reaches it.
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := line(t, out); got != "terminated after 0 interrupts" {
		t.Fatalf("child said %q after SIGTERM", got)
	}
	if got := exitCode(t, c); got != 42 {
		t.Fatalf("supervisor exited %d, want the child's 42", got)
	}
}

// TestTerminalInterruptOnce is docker run -it and Ctrl-C: the terminal
// sends SIGINT to its foreground process group. The child must get it once,
// not once from the terminal and again forwarded by the supervisor (a second
// signal makes hurricane exit at once).
func TestTerminalInterruptOnce(t *testing.T) {
	master, slave := openPTY(t)
	c, out := supervised(t, "signals", func(c *exec.Cmd) {
		c.Stdin = slave
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	})
	slave.Close()
	if got := line(t, out); got != "ready" {
		t.Fatalf("child said %q", got)
	}
	if _, err := master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if got := line(t, out); got != "interrupted" {
		t.Fatalf("child said %q after Ctrl-C", got)
	}
	// Had the supervisor received the Ctrl-C too, its forwarded SIGINT
	// would reach the child before this SIGTERM, forwarded after it.
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := line(t, out); got != "terminated after 1 interrupts" {
		t.Fatalf("child said %q after SIGTERM", got)
	}
	if got := exitCode(t, c); got != 42 {
		t.Fatalf("supervisor exited %d, want 42", got)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}
