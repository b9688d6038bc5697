package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds on scripts/pg; its own waits (pg_ctl -t) are shorter.
const (
	pgInstallTimeout = 10 * time.Minute // apt-get on a machine without PostgreSQL
	pgCmdTimeout     = 90 * time.Second // start (initdb the first time) or stop
)

var pgInstall struct {
	once sync.Once
	err  error
}

// pgServer is a throwaway PostgreSQL cluster of one test, run by scripts/pg
// on 127.0.0.1 with trust auth: user postgres, database hurricane.
type pgServer struct {
	dir  string // the cluster's directory (short: it holds the unix socket)
	port int
}

// startPostgres starts a cluster of the test's own on a free port; cleanup
// stops it and removes its directory. Like the other helpers it skips (or
// fails) without HURRICANE_TEST_PYTHON.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	requirePython(t)
	pgInstall.once.Do(func() {
		_, pgInstall.err = runPG(pgInstallTimeout, "install")
	})
	if pgInstall.err != nil {
		t.Fatalf("installing PostgreSQL: %v", pgInstall.err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// Under /tmp, not t.TempDir(): the socket path must stay short, and the
	// postgres user must be able to reach the directory.
	dir, err := os.MkdirTemp("/tmp", "pg")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgServer{dir: dir, port: port}
	t.Cleanup(func() {
		if _, err := runPG(pgCmdTimeout, "stop", p.dir); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
		if t.Failed() {
			t.Logf("PostgreSQL log tail:\n%s", p.logTail(30))
		}
		if err := os.RemoveAll(p.dir); err != nil {
			t.Errorf("removing %s: %v", p.dir, err)
		}
	})
	p.Start(t)
	return p
}

// Start starts the cluster again (same directory, same port, same data);
// starting a running cluster is a no-op.
func (p *pgServer) Start(t *testing.T) {
	t.Helper()
	if out, err := runPG(pgCmdTimeout, "start", p.dir, strconv.Itoa(p.port)); err != nil {
		t.Fatalf("starting PostgreSQL in %s on port %d: %v\n%s", p.dir, p.port, err, out)
	}
}

// Stop shuts the cluster down (fast: open connections are terminated);
// stopping a stopped cluster is a no-op.
func (p *pgServer) Stop(t *testing.T) {
	t.Helper()
	if out, err := runPG(pgCmdTimeout, "stop", p.dir); err != nil {
		t.Fatalf("stopping PostgreSQL in %s: %v\n%s", p.dir, err, out)
	}
}

// Env is what the demo project needs to use this cluster; append it to
// serverEnv() (later entries win).
func (p *pgServer) Env() []string {
	return []string{
		"DEMO_DB_ENGINE=postgres",
		"DEMO_PG_HOST=127.0.0.1",
		"DEMO_PG_PORT=" + strconv.Itoa(p.port),
		"DEMO_PG_NAME=hurricane",
		"DEMO_PG_USER=postgres",
	}
}

func (p *pgServer) logTail(n int) string {
	b, err := os.ReadFile(filepath.Join(p.dir, "log"))
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runPG runs scripts/pg with args and returns its combined output.
func runPG(timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(demoDir, "..", "..", "scripts", "pg"), args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("scripts/pg %s: still running after %s", strings.Join(args, " "), timeout)
	} else if err != nil {
		err = fmt.Errorf("scripts/pg %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	return out.Bytes(), err
}

// manage runs "python manage.py args..." in the demo project with env added
// to serverEnv(), bounded by timeout; it returns the combined output.
func manage(timeout time.Duration, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonPath, append([]string{"manage.py"}, args...)...)
	cmd.Dir = demoDir
	cmd.Env = append(serverEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("manage.py %s: still running after %s", strings.Join(args, " "), timeout)
	}
	return out, err
}

// TestPostgresHelper checks the helpers themselves: the demo migrates onto
// the cluster, fails fast while it is stopped, and finds its data again
// after a restart.
func TestPostgresHelper(t *testing.T) {
	t0 := time.Now()
	pg := startPostgres(t)
	t.Logf("startPostgres (initdb and start): %s", time.Since(t0))

	t0 = time.Now()
	if out, err := manage(60*time.Second, pg.Env(), "migrate", "--noinput"); err != nil {
		t.Fatalf("migrate onto PostgreSQL: %v\n%s", err, out)
	}
	t.Logf("migrate: %s", time.Since(t0))

	t0 = time.Now()
	pg.Stop(t)
	t.Logf("Stop: %s", time.Since(t0))
	t0 = time.Now()
	out, err := manage(30*time.Second, pg.Env(), "migrate", "--noinput")
	took := time.Since(t0)
	t.Logf("migrate failing while stopped: %s", took)
	if err == nil {
		t.Fatalf("migrate succeeded with PostgreSQL stopped:\n%s", out)
	}
	if !bytes.Contains(out, []byte("OperationalError")) {
		t.Fatalf("migrate with PostgreSQL stopped failed, but not with OperationalError: %v\n%s", err, out)
	}
	// connect_timeout is 2s; a refused connection fails at once.
	if took > 10*time.Second {
		t.Errorf("migrate with PostgreSQL stopped took %s to fail", took)
	}

	t0 = time.Now()
	pg.Start(t)
	t.Logf("Start again: %s", time.Since(t0))
	out, err = manage(60*time.Second, pg.Env(), "migrate", "--noinput")
	if err != nil {
		t.Fatalf("migrate after restarting PostgreSQL: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("No migrations to apply")) {
		t.Errorf("the migrations did not survive the restart; migrate said:\n%s", out)
	}
}
