package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second // server start until /hello answers 200
	stopTimeout  = 15 * time.Second // SIGINT until the process must have exited
)

// Set up once by TestMain.
var (
	pythonPath string // HURRICANE_TEST_PYTHON; empty: tests skip (or fail)
	binPath    string // the hurricane binary under test
	demoDir    string // examples/demo
	dbPath     string // the migrated SQLite database the demo uses
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	pythonPath = os.Getenv("HURRICANE_TEST_PYTHON")
	if pythonPath == "" {
		// Each test skips or fails in requirePython.
		return m.Run()
	}
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	demoDir = filepath.Join(root, "examples", "demo")
	tmp, err := os.MkdirTemp("", "hurricane-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	binPath = filepath.Join(tmp, "hurricane")
	args := []string{"build", "-o", binPath}
	if os.Getenv("HURRICANE_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	args = append(args, "github.com/hurricane-run/hurricane")
	build := exec.Command("go", args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build failed: %v\n%s", err, out)
		return 1
	}

	dbPath = filepath.Join(tmp, "db.sqlite3")
	migrate := exec.Command(pythonPath, "manage.py", "migrate", "--noinput")
	migrate.Dir = demoDir
	migrate.Env = serverEnv()
	if out, err := migrate.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: manage.py migrate failed: %v\n%s", err, out)
		return 1
	}

	code := m.Run()

	// The shared server must still stop cleanly after all the traffic.
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: shared server did not stop cleanly: %v\nlog tail:\n%s\n", err, shared.srv.logs.tail(40))
			code = 1
		}
	}
	return code
}

func serverEnv() []string {
	return append(os.Environ(), "DEMO_DB_PATH="+dbPath, "DJANGO_DEBUG=0")
}

// requirePython skips the test without a Django python, or fails it when
// HURRICANE_E2E_REQUIRED=1.
func requirePython(t *testing.T) {
	t.Helper()
	if pythonPath != "" {
		return
	}
	if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
		t.Fatal("HURRICANE_TEST_PYTHON is not set but HURRICANE_E2E_REQUIRED=1")
	}
	t.Skip("HURRICANE_TEST_PYTHON is not set (a Python with Django); skipping end-to-end tests")
}

// ---- the server under test

type server struct {
	port      int
	base      string // http://127.0.0.1:port
	probePort int    // the --probe-port given (port itself when probes share it)
	cmd       *exec.Cmd
	logs      *logBuffer
	exited    chan struct{} // closed when the process has exited
	err       error         // cmd.Wait's result, set before exited closes

	stopOnce sync.Once
	stopErr  error
}

// startServer runs "hurricane serve" on a free port (and a free probe port)
// with extra flags and waits until GET /hello answers 200.
func startServer(extra ...string) (*server, error) {
	return startServerConfig(serverConfig{}, extra...)
}

// waitMode is what startServerConfig waits for before it returns.
type waitMode int

const (
	waitHello   waitMode = iota // GET /hello answers 200 (startServer)
	waitStartup                 // the startup probe answers 200; no app request is made
	waitNone                    // the process runs; nothing else
)

// serverConfig adjusts startServerConfig; the zero value is startServer.
type serverConfig struct {
	env         []string // added to serverEnv() (later entries win)
	dir         string   // working directory; default examples/demo
	wait        waitMode
	startupPath string // for waitStartup; default /startup
}

// startServerConfig is startServer with a configuration. Unless extra has
// --probe-port, a free probe port is passed; "{port}" in extra stands for
// the app port.
func startServerConfig(cfg serverConfig, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--python", pythonPath, "--port", strconv.Itoa(port),
		"--interface", "127.0.0.1", "--log-format", "json"}
	probePort := 0
	for i, a := range extra {
		a = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
		args = append(args, a)
		if i > 0 && extra[i-1] == "--probe-port" {
			probePort, _ = strconv.Atoi(a)
		} else if v, ok := strings.CutPrefix(a, "--probe-port="); ok {
			probePort, _ = strconv.Atoi(v)
		}
	}
	if probePort == 0 {
		if probePort, err = freePortExcept(port); err != nil {
			return nil, err
		}
		args = append(args, "--probe-port", strconv.Itoa(probePort))
	}
	return launch(cfg, port, probePort, args)
}

// startCommand runs another hurricane command (consume) with a free probe
// port; it has no app port. cfg.wait must not be waitHello.
func startCommand(cfg serverConfig, args ...string) (*server, error) {
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	args = append(args, "--python", pythonPath, "--interface", "127.0.0.1", "--log-format", "json",
		"--probe-port", strconv.Itoa(probePort))
	return launch(cfg, 0, probePort, args)
}

// newServer records a server process about to start on these ports.
func newServer(port, probePort int) *server {
	return &server{
		port:      port,
		base:      "http://127.0.0.1:" + strconv.Itoa(port),
		probePort: probePort,
		logs:      &logBuffer{},
		exited:    make(chan struct{}),
	}
}

// launch starts the binary with args and waits as cfg says.
func launch(cfg serverConfig, port, probePort int, args []string) (*server, error) {
	s := newServer(port, probePort)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Dir = demoDir
	if cfg.dir != "" {
		s.cmd.Dir = cfg.dir
	}
	s.cmd.Env = append(serverEnv(), cfg.env...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	if cfg.wait == waitNone {
		return s, nil
	}

	path, what := "/hello", "GET /hello"
	url := s.base + path
	if cfg.wait == waitStartup {
		path = "/startup"
		if cfg.startupPath != "" {
			path = cfg.startupPath
		}
		what = "the startup probe " + path
		url = s.probeURL(path)
	}
	client := newClient()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("hurricane serve exited during startup (%v); log:\n%s", s.err, s.logs.tail(40))
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				client.CloseIdleConnections()
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return nil, fmt.Errorf("%s did not answer 200 within %s (last error %v); log:\n%s", what, startTimeout, err, s.logs.tail(40))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// stop sends SIGINT and waits; it kills the process if it does not exit in
// time. It reports a non-zero exit or the kill.
func (s *server) stop() error { return s.stopWith(os.Interrupt) }

// stopWith is stop with another signal. Only the first call signals; later
// calls return its result.
func (s *server) stopWith(sig os.Signal) error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			s.stopErr = fmt.Errorf("had already exited: %v", s.err)
			return
		default:
		}
		_ = s.cmd.Process.Signal(sig)
		select {
		case <-s.exited:
			if s.err != nil {
				s.stopErr = fmt.Errorf("exit after %v: %v", sig, s.err)
			}
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = fmt.Errorf("still running %s after %v; killed", stopTimeout, sig)
		}
	})
	return s.stopErr
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) url(path string) string { return s.base + path }

// probeURL is path on the probe port.
func (s *server) probeURL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.probePort) + path
}

// dumpOnFailure logs the server's log tail when t fails.
func (s *server) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hurricane log tail:\n%s", s.logs.tail(40))
		}
	})
}

// startDedicated starts a server of the test's own, stopped at cleanup.
func startDedicated(t *testing.T, extra ...string) *server {
	t.Helper()
	requirePython(t)
	s, err := startServer(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stopping hurricane: %v", err)
		}
	})
	s.dumpOnFailure(t) // registered last, so it runs first
	return s
}

var shared struct {
	once sync.Once
	srv  *server
	err  error
}

// sharedServer is one server with default flags for the tests that do not
// change it; TestMain stops it.
func sharedServer(t *testing.T) *server {
	t.Helper()
	requirePython(t)
	shared.once.Do(func() {
		shared.srv, shared.err = startServer()
	})
	if shared.err != nil {
		t.Fatalf("starting the shared server: %v", shared.err)
	}
	if !shared.srv.running() {
		t.Fatalf("the shared server has exited: %v\nlog tail:\n%s", shared.srv.err, shared.srv.logs.tail(40))
	}
	shared.srv.dumpOnFailure(t)
	return shared.srv
}

// freePortExcept is a free port other than not.
func freePortExcept(not int) (int, error) {
	for range 10 {
		p, err := freePort()
		if err != nil || p != not {
			return p, err
		}
	}
	return 0, fmt.Errorf("no free port other than %d", not)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ---- the log

// logBuffer collects the server's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// record is one JSON log line.
type record map[string]any

func (r record) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r record) num(k string) (float64, bool) {
	f, ok := r[k].(float64)
	return f, ok
}

// records parses every complete JSON line so far (other lines are skipped).
func (b *logBuffer) records() []record {
	text := b.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		return nil
	}
	var out []record
	for _, line := range strings.Split(text, "\n") {
		var r record
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// find returns the records matching pred.
func (b *logBuffer) find(pred func(record) bool) []record {
	var out []record
	for _, r := range b.records() {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

// waitLog polls the log until a record matches pred or timeout passes.
func waitLog(t *testing.T, s *server, timeout time.Duration, what string, pred func(record) bool) record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if rs := s.logs.find(pred); len(rs) > 0 {
			return rs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log record %s within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// workerPIDs are the pids of "worker ready" records, in order.
func workerPIDs(s *server) []int {
	var pids []int
	for _, r := range s.logs.find(func(r record) bool { return r.str("msg") == "worker ready" }) {
		if p, ok := r.num("pid"); ok {
			pids = append(pids, int(p))
		}
	}
	return pids
}

// ---- HTTP

func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DisableCompression:  true,
			MaxIdleConnsPerHost: 64,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       60 * time.Second,
	}
}

type result struct {
	resp *http.Response
	body []byte
}

// do sends req and reads the whole response.
func do(t *testing.T, c *http.Client, req *http.Request) result {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return result{resp, body}
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func wantStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %q", r.resp.Request.Method, r.resp.Request.URL, r.resp.StatusCode, want, clip(r.body))
	}
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// echoPayload is what /echo and /aecho answer.
type echoPayload struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	PathInfo   string              `json:"path_info"`
	FullPath   string              `json:"full_path"`
	Query      map[string][]string `json:"query"`
	Headers    [][2]string         `json:"headers"`
	RemoteAddr string              `json:"remote_addr"`
	ServerName string              `json:"server_name"`
	ServerPort string              `json:"server_port"`
	Scheme     string              `json:"scheme"`
	IsSecure   bool                `json:"is_secure"`
	BodyLen    int                 `json:"body_len"`
	BodySHA256 string              `json:"body_sha256"`
}

// header returns the values of a META key (e.g. HTTP_X_FOO).
func (e *echoPayload) header(key string) []string {
	var out []string
	for _, h := range e.Headers {
		if h[0] == key {
			out = append(out, h[1])
		}
	}
	return out
}

func decodeEcho(t *testing.T, r result) *echoPayload {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var e echoPayload
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("decoding echo answer: %v; body %q", err, clip(r.body))
	}
	return &e
}

// ---- raw TCP

type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, s *server) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, raw string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("writing request: %v", err)
	}
}

// read reads one response to a request with method and its whole body.
func (c *rawConn) read(t *testing.T, method string) result {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+c.RemoteAddr().String()+"/", nil)
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading response body: %v", err)
	}
	return result{resp, body}
}

func rawGet(path, host string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// ---- processes

// alive reports whether pid exists (and is not a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}
