package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Graceful shutdown, SPEC §2: SIGTERM drains, SIGINT skips the delay, a
// second signal exits at once.

// drainClient loops GET /hello on keep-alive connections of its own and
// records what became of every request.
type drainClient struct {
	addr string
	// set by the test: requests sent after this (unix nanos) must be answered
	// with Connection: close
	closeFrom *atomic.Int64
	served    *atomic.Int64 // 200s over all clients

	ok, okClose, non200, missingClose int
	refused                           int // dials that failed
	lostReused                        []string
	lostFresh                         []lostRequest
	lastOK                            time.Time
}

type lostRequest struct {
	dialed, failed time.Time
	err            error
}

func (c *drainClient) run(stop <-chan struct{}) {
	req := []byte("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	var conn net.Conn
	var br *bufio.Reader
	var dialed time.Time
	fresh := false
	for {
		select {
		case <-stop:
			if conn != nil {
				conn.Close()
			}
			return
		default:
		}
		if conn == nil {
			d, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
			if err != nil {
				c.refused++
				time.Sleep(5 * time.Millisecond) // back off before redialling
				continue
			}
			conn, br, dialed, fresh = d, bufio.NewReader(d), time.Now(), true
		}
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
		sent := time.Now()
		resp, err := c.roundTrip(conn, br, req)
		if err != nil {
			if fresh {
				c.lostFresh = append(c.lostFresh, lostRequest{dialed, time.Now(), err})
			} else {
				c.lostReused = append(c.lostReused, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			}
			conn.Close()
			conn = nil
			continue
		}
		fresh = false
		if resp.StatusCode != http.StatusOK {
			c.non200++
		} else {
			c.ok++
			c.served.Add(1)
			c.lastOK = time.Now()
		}
		if from := c.closeFrom.Load(); from != 0 && sent.UnixNano() > from && !resp.Close {
			c.missingClose++
		}
		if resp.Close {
			c.okClose++
			conn.Close()
			conn = nil
		}
	}
}

func (c *drainClient) roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (*http.Response, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

// ---- 15. SIGTERM under load: drain, then stop accepting, lose nothing

func TestShutdownUnderLoad(t *testing.T) {
	const delay, timeout = 2 * time.Second, 10 * time.Second
	s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "settings"),
		"--shutdown-delay", delay.String(), "--shutdown-timeout", timeout.String())...)
	pid := onlyWorkerPID(t, s)

	var closeFrom, served atomic.Int64
	clients := make([]*drainClient, 8)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = &drainClient{addr: s.addr(), closeFrom: &closeFrom, served: &served}
		wg.Go(func() { clients[i].run(stop) })
	}
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopClients()

	// Load runs on keep-alive connections; a slow request is in its view
	// when SIGTERM comes.
	for deadline := time.Now().Add(10 * time.Second); served.Load() < 300; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests answered in 10s before SIGTERM", served.Load())
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	slow := make(chan outcome, 1)
	go func() { slow <- fetch(newClient(), s.url("/sleep?ms=3000")) }()
	waitSleeping(t, pid, 1, 5*time.Second)

	// Two keep-alive connections that answered once and then sit idle.
	idle := [2]*rawConn{dialRaw(t, s), dialRaw(t, s)}
	for _, c := range idle {
		c.send(t, rawGet("/hello", "127.0.0.1"))
		if r := c.read(t, http.MethodGet); r.resp.StatusCode != 200 || r.resp.Close {
			t.Fatalf("GET /hello on a keep-alive connection: %d (close %v)", r.resp.StatusCode, r.resp.Close)
		}
	}

	sigterm := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness fails at once.
	var notReady time.Time
	for deadline := sigterm.Add(time.Second); ; {
		a, err := call(http.MethodGet, s.probeURL("/ready"))
		if err == nil && a.status == http.StatusServiceUnavailable {
			notReady = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness not 503 within 1s of SIGTERM (last %s, %v)", a, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	closeFrom.Store(notReady.UnixNano())
	t.Logf("readiness 503 %s after SIGTERM", notReady.Sub(sigterm).Round(time.Millisecond))
	wantAnswer(t, "GET /alive while draining", s.probe(t, "/alive"), 200, "*")
	wantAnswer(t, "GET /startup while draining", s.probe(t, "/startup"), 200, "*")

	// An idle keep-alive connection used during the delay is answered, and
	// told to close.
	for time.Since(sigterm) < delay/2 {
		time.Sleep(20 * time.Millisecond) // waiting for the middle of the delay
	}
	idle[0].send(t, rawGet("/hello", "127.0.0.1"))
	if r := idle[0].read(t, http.MethodGet); r.resp.StatusCode != 200 || !r.resp.Close {
		t.Errorf("GET /hello on an idle keep-alive connection during the delay: %d, Connection: close %v; want 200 and close", r.resp.StatusCode, r.resp.Close)
	}

	// After the delay, with the slow request still running, new
	// connections are refused, idle ones are closed, and the probes still
	// answer.
	for time.Since(sigterm) < delay+700*time.Millisecond {
		time.Sleep(20 * time.Millisecond) // waiting out the delay
	}
	if s.running() {
		if !refused(s.addr()) {
			t.Errorf("the app port still accepts connections %s after SIGTERM (delay %s)", time.Since(sigterm).Round(time.Millisecond), delay)
		}
		wantAnswer(t, "GET /alive after the delay, requests in flight", s.probe(t, "/alive"), 200, "*")
		wantAnswer(t, "GET /ready after the delay, requests in flight", s.probe(t, "/ready"), 503, "*")
		_ = idle[1].SetReadDeadline(time.Now().Add(time.Second))
		n, err := idle[1].Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("an idle keep-alive connection is still open after the delay (the server should close it)")
		} else if n > 0 {
			t.Errorf("an idle keep-alive connection got unsolicited bytes after the delay")
		}
	} else {
		t.Errorf("exited %s after SIGTERM with the 3s request in flight", time.Since(sigterm))
	}

	s.waitExit(t, delay+timeout+5*time.Second)
	exited := time.Now()
	stopClients()
	t.Logf("exited %s after SIGTERM, code %d", exited.Sub(sigterm).Round(time.Millisecond), s.exitCode())
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if total := exited.Sub(sigterm); total > delay+timeout {
		t.Errorf("exit %s after SIGTERM, want within delay+timeout %s", total, delay+timeout)
	}
	select {
	case o := <-slow:
		if o.err != nil || o.status != 200 || o.body != "slept 3000" {
			t.Errorf("the request in flight at SIGTERM: status %d body %q error %v, want 200 slept 3000", o.status, o.body, o.err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the request in flight at SIGTERM never finished")
	}

	// The delay ended when the server logged it stopped accepting.
	var delayEnd time.Time
	if rs := s.logs.find(msgIs("shutting down: waiting for in-flight requests")); len(rs) > 0 {
		delayEnd, _ = time.Parse(time.RFC3339Nano, rs[0].str("time"))
	} else {
		t.Errorf("no \"shutting down: waiting for in-flight requests\" record")
	}
	var ok, okClose, non200, missingClose, refusedDials int
	var lostReused []string
	var lostFreshDuring, lostFreshAtClose []lostRequest
	var lastOK time.Time
	for _, c := range clients {
		ok += c.ok
		okClose += c.okClose
		non200 += c.non200
		missingClose += c.missingClose
		refusedDials += c.refused
		lostReused = append(lostReused, c.lostReused...)
		for _, l := range c.lostFresh {
			if !delayEnd.IsZero() && l.failed.After(delayEnd.Add(-50*time.Millisecond)) {
				lostFreshAtClose = append(lostFreshAtClose, l)
			} else {
				lostFreshDuring = append(lostFreshDuring, l)
			}
		}
		if c.lastOK.After(lastOK) {
			lastOK = c.lastOK
		}
	}
	t.Logf("8 clients: %d answered 200 (%d with Connection: close), %d other statuses, %d refused dials; last 200 %s after SIGTERM (delay ended %s after)",
		ok, okClose, non200, refusedDials, lastOK.Sub(sigterm).Round(time.Millisecond), delayEnd.Sub(sigterm).Round(time.Millisecond))
	t.Logf("lost: %d on reused connections, %d on fresh connections during the delay, %d on fresh connections as the listener closed",
		len(lostReused), len(lostFreshDuring), len(lostFreshAtClose))
	for _, l := range lostFreshAtClose {
		t.Logf("  fresh connection dialled %s after the delay ended, failed %s after: %v", l.dialed.Sub(delayEnd), l.failed.Sub(delayEnd), l.err)
	}
	if len(lostReused) > 0 {
		t.Errorf("%d requests sent on established (already answered) connections got no response: %v", len(lostReused), lostReused)
	}
	for _, l := range lostFreshDuring {
		t.Errorf("a request on a new connection during the delay got no response (dialled %s after SIGTERM): %v", l.dialed.Sub(sigterm), l.err)
	}
	if non200 > 0 {
		t.Errorf("%d requests answered other than 200 while draining", non200)
	}
	if missingClose > 0 {
		t.Errorf("%d responses to requests sent after readiness turned 503 lack Connection: close", missingClose)
	}
	if okClose == 0 {
		t.Errorf("no response carried Connection: close during the delay")
	}
	if lastOK.Before(sigterm.Add(delay - 300*time.Millisecond)) {
		t.Errorf("the last 200 came %s after SIGTERM: the server stopped answering before the %s delay ended", lastOK.Sub(sigterm), delay)
	}
	if refusedDials == 0 {
		t.Errorf("no connection was refused after the delay")
	}
	if len(s.logs.find(msgIs("shut down"))) == 0 {
		t.Errorf("no \"shut down\" record")
	}
}

// ---- 16. SIGINT skips the delay; a second signal exits at once

func TestShutdownSignals(t *testing.T) {
	t.Run("SIGINT skips the delay", func(t *testing.T) {
		s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "settings"), "--shutdown-delay", "10s")...)
		pid := onlyWorkerPID(t, s)
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		took := s.waitExit(t, 15*time.Second)
		t.Logf("exited %s after SIGINT with --shutdown-delay 10s", took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("exit took %s after SIGINT, want no delay (< 2s)", took)
		}
		checkCleanExit(t, s, pid)
	})

	t.Run("SIGTERM while a command runs", func(t *testing.T) {
		release := newFlagFile(t, "release") // never created
		s := startLC(t, serverConfig{wait: waitNone, env: []string{"E2E_RELEASE_FILE=" + string(release)}},
			append(siteArgs(t, "settings"), "--command", "slowcmd")...)
		rec := waitLog(t, s, startTimeout, "with the slowcmd output", func(r record) bool {
			return r.str("msg") == "command output" && strings.HasPrefix(r.str("line"), "slowcmd waiting")
		})
		cmdPID, _ := rec.num("pid")
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		took := s.waitExit(t, 15*time.Second)
		t.Logf("exited %s after SIGTERM during a command, code %d", took.Round(time.Millisecond), s.exitCode())
		if took > time.Second {
			t.Errorf("exit took %s after SIGTERM before the app port opened, want at once", took)
		}
		if code := s.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		deadline := time.Now().Add(3 * time.Second)
		for cmdPID > 0 && alive(int(cmdPID)) {
			if time.Now().After(deadline) {
				t.Errorf("the command's process %d still runs 3s after hurricane exited", int(cmdPID))
				_ = syscall.Kill(int(cmdPID), syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	})

	t.Run("the shutdown timeout cuts a request off", func(t *testing.T) {
		s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "settings"), "--shutdown-timeout", "1s")...)
		pid := onlyWorkerPID(t, s)
		res := make(chan outcome, 1)
		go func() { res <- fetch(newClient(), s.url("/sleep?ms=8000")) }()
		waitSleeping(t, pid, 1, 5*time.Second)
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		took := s.waitExit(t, 15*time.Second)
		t.Logf("exited %s after SIGINT with an 8s request and --shutdown-timeout 1s, code %d", took.Round(time.Millisecond), s.exitCode())
		if code := s.exitCode(); code != 1 {
			t.Errorf("exit code %d when the shutdown timeout cut a request off, want 1", code)
		}
		if took > 5*time.Second {
			t.Errorf("exit took %s with --shutdown-timeout 1s", took)
		}
		select {
		case o := <-res:
			t.Logf("the cut-off request: status %d error %v", o.status, o.err)
		case <-time.After(5 * time.Second):
			t.Errorf("the cut-off request is still open 5s after hurricane exited")
		}
		for deadline := time.Now().Add(5 * time.Second); alive(pid); {
			if time.Now().After(deadline) {
				t.Errorf("worker %d still runs 5s after hurricane exited", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	})

	t.Run("a second SIGTERM exits at once", func(t *testing.T) {
		s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "settings"), "--shutdown-delay", "10s")...)
		pid := onlyWorkerPID(t, s)
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		pollURL(t, s.probeURL("/ready"), time.Second, "readiness 503 after SIGTERM", statusIs(503))
		if !s.running() {
			t.Fatal("exited before the second signal")
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		took := s.waitExit(t, 15*time.Second)
		t.Logf("exited %s after the second SIGTERM, code %d", took.Round(time.Millisecond), s.exitCode())
		if took > time.Second {
			t.Errorf("exit took %s after the second SIGTERM, want at once", took)
		}
		if code := s.exitCode(); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d after a second SIGTERM, want %d", code, 128+int(syscall.SIGTERM))
		}
		// The worker must not outlive hurricane.
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("worker %d still runs 5s after hurricane exited on the second signal", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	})
}
