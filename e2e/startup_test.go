package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The startup sequence of SPEC §2: management commands, migration checks.

// recordIndex is the position of the first record matching pred, or -1.
func recordIndex(rs []record, pred func(record) bool) int {
	for i, r := range rs {
		if pred(r) {
			return i
		}
	}
	return -1
}

func commandRecord(msg, command string) func(record) bool {
	return func(r record) bool { return r.str("msg") == msg && r.str("command") == command }
}

// commandOutput is the re-logged output lines of a management command.
func commandOutput(s *server, command string) []string {
	var out []string
	for _, r := range s.logs.find(commandRecord("command output", command)) {
		out = append(out, r.str("line"))
	}
	return out
}

// siteManage runs manage.py of the demo with the e2esite settings.
func siteManage(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "--settings", "e2esite.settings", "--pythonpath", dir)
	out, err := manage(60*time.Second, env, args...)
	if err != nil {
		t.Fatalf("manage.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ---- 10. --command runs each command in order before the app port opens

func TestStartupCommands(t *testing.T) {
	t.Run("in order before serving", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "db.sqlite3") // fresh: migrate has work to do
		s := startLC(t, serverConfig{wait: waitStartup, env: []string{"DEMO_DB_PATH=" + db}},
			append(siteArgs(t, "settings"), "--command", "check", "--command", "migrate --noinput")...)
		rs := s.logs.records()
		runCheck := recordIndex(rs, commandRecord("running management command", "check"))
		doneCheck := recordIndex(rs, commandRecord("management command finished", "check"))
		runMigrate := recordIndex(rs, commandRecord("running management command", "migrate --noinput"))
		doneMigrate := recordIndex(rs, commandRecord("management command finished", "migrate --noinput"))
		workers := recordIndex(rs, msgIs("starting workers"))
		serving := recordIndex(rs, func(r record) bool { return r.str("msg") == "serving" && r.str("address") == s.addr() })
		finished := recordIndex(rs, msgIs("startup finished"))
		t.Logf("record positions: check %d..%d, migrate %d..%d, starting workers %d, serving %d, startup finished %d",
			runCheck, doneCheck, runMigrate, doneMigrate, workers, serving, finished)
		switch {
		case runCheck < 0 || doneCheck < 0 || runMigrate < 0 || doneMigrate < 0:
			t.Fatalf("missing command records")
		case !(runCheck < doneCheck && doneCheck < runMigrate && runMigrate < doneMigrate):
			t.Errorf("the commands did not run one after the other in order")
		case finished < 0 || serving < 0:
			t.Errorf("no \"startup finished\" or \"serving\" record")
		case !(doneMigrate < workers && doneMigrate < serving && doneMigrate < finished):
			t.Errorf("the app port opened (or startup finished) before the commands had finished")
		}
		if out := strings.Join(commandOutput(s, "check"), "\n"); !strings.Contains(out, "System check identified no issues") {
			t.Errorf("check output not logged; got %q", out)
		}
		if out := strings.Join(commandOutput(s, "migrate --noinput"), "\n"); !strings.Contains(out, "Applying e2esite.0001_initial... OK") {
			t.Errorf("migrate output not logged (or it applied nothing); got %q", out)
		}
		// The migrations really were applied to the database the app uses.
		siteManage(t, []string{"DEMO_DB_PATH=" + db}, "migrate", "--check")
	})

	t.Run("a failing command", func(t *testing.T) {
		recv := newHookReceiver(t, 0)
		s := startLC(t, serverConfig{wait: waitNone, env: []string{"E2E_VERSION=9.9.9"}},
			append(siteArgs(t, "settings"), "--command", "nosuchcommand", "--webhook-url", recv.url())...)
		took := s.waitExit(t, startTimeout)
		// Flushed before exit: the receiver has it now.
		hooks := recv.hooks("")
		t.Logf("exited after %s with code %d; webhooks %v", took.Round(time.Millisecond), s.exitCode(), hooks)
		if code := s.exitCode(); code != 1 {
			t.Errorf("exit code %d after a failing command, want 1", code)
		}
		// Delivery is at least once: an attempt that timed out on a loaded
		// machine may have arrived and be retried.
		if len(hooks) == 0 {
			t.Fatalf("no webhook received by exit, want startup failed")
		}
		for _, h := range hooks {
			if h.Type != "startup" || h.Status != "failed" {
				t.Fatalf("webhooks received by exit: %v, want only startup failed", hooks)
			}
		}
		h := hooks[0]
		if h.Traceback == nil || !strings.Contains(*h.Traceback, "nosuchcommand") {
			t.Errorf("failed startup webhook traceback %v, want the command's stderr (naming nosuchcommand)", h.Traceback)
		}
		if h.Version == nil || *h.Version != "9.9.9" {
			t.Errorf("webhook version %v, want \"9.9.9\" from HURRICANE_VERSION", h.Version)
		}
		if h.Info != "Startup webhook" {
			t.Errorf("webhook info %q, want \"Startup webhook\"", h.Info)
		}
		if len(s.logs.find(msgIs("startup finished"))) > 0 || len(s.logs.find(msgIs("starting workers"))) > 0 {
			t.Errorf("startup went on after the failing command")
		}
		if !strings.Contains(s.logs.String(), "nosuchcommand") {
			t.Errorf("the failure is not logged")
		}
	})
}

// ---- 11. --check-migrations holds startup while migrations are pending

func TestCheckMigrationsWaits(t *testing.T) {
	held := func(t *testing.T) (*server, string) {
		t.Helper()
		db := filepath.Join(t.TempDir(), "db.sqlite3") // nothing applied yet
		s := startLC(t, serverConfig{wait: waitNone, env: []string{"DEMO_DB_PATH=" + db}},
			append(siteArgs(t, "settings"), "--check-migrations")...)
		waitLog(t, s, startTimeout, "saying it waits for the migrations", msgIs("waiting for pending migrations to be applied"))
		for _, path := range []string{"/startup", "/ready", "/alive"} {
			wantAnswer(t, "GET "+path+" while migrations are pending", s.probe(t, path), 400, "")
		}
		if !refused(s.addr()) {
			t.Errorf("the app port accepts connections while migrations are pending")
		}
		return s, db
	}

	t.Run("SIGTERM exits at once", func(t *testing.T) {
		s, _ := held(t)
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		took := s.waitExit(t, 10*time.Second)
		t.Logf("exited %s after SIGTERM (code %d)", took.Round(time.Millisecond), s.exitCode())
		if took > time.Second {
			t.Errorf("exit took %s after SIGTERM before the app port opened, want at once (< 1s)", took)
		}
		if code := s.exitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
	})

	t.Run("proceeds once another process migrated", func(t *testing.T) {
		s, db := held(t)
		siteManage(t, []string{"DEMO_DB_PATH=" + db}, "migrate", "--noinput")
		migrated := time.Now()
		pollURL(t, s.probeURL("/startup"), 30*time.Second, "startup 200 after the migrations were applied", statusIs(200))
		t.Logf("startup finished %s after the migrations were applied", time.Since(migrated).Round(time.Millisecond))
		if len(s.logs.find(msgIs("no pending migrations"))) == 0 {
			t.Errorf("no \"no pending migrations\" record")
		}
		wantAnswer(t, "GET /hello", mustCall(t, "GET", s.url("/hello")), 200, "Hello world!")
	})
}

// ---- 12. --check-migrations-apply on two replicas at once migrates once

var applyingLine = regexp.MustCompile(`^\s*Applying (\S+)\.\.\. OK$`)

func TestCheckMigrationsApplyTwoReplicas(t *testing.T) {
	pg := startPostgres(t) // a fresh database: nothing applied
	var ss [2]*server
	for i := range ss {
		ss[i] = startLC(t, serverConfig{wait: waitNone, env: pg.Env()},
			append(siteArgs(t, "settings"), "--check-migrations-apply")...)
	}
	for i, s := range ss {
		pollURL(t, s.probeURL("/startup"), 60*time.Second, fmt.Sprintf("server %d startup 200", i), statusIs(200))
		wantAnswer(t, fmt.Sprintf("server %d GET /hello", i), mustCall(t, "GET", s.url("/hello")), 200, "Hello world!")
	}

	rows := migrationRows(t, pg)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r]++
	}
	for name, n := range seen {
		if n > 1 {
			t.Errorf("django_migrations has %s %d times", name, n)
		}
	}
	applied := map[string]int{}
	applyingServers := 0
	for i, s := range ss {
		out := commandOutput(s, "migrate (locked)")
		n := 0
		for _, line := range out {
			if m := applyingLine.FindStringSubmatch(line); m != nil {
				applied[m[1]]++
				n++
			}
		}
		if n > 0 {
			applyingServers++
		}
		t.Logf("server %d: %d Go-side \"applying migrations\" records, %d \"Applying ... OK\" lines; the rest of its migrate output: %q",
			i, len(s.logs.find(msgIs("applying migrations"))), n, filterLines(out, func(l string) bool { return !applyingLine.MatchString(l) }))
	}
	if applyingServers != 1 {
		t.Errorf("%d servers applied migrations, want exactly 1", applyingServers)
	}
	for name, n := range applied {
		if n > 1 {
			t.Errorf("%s was applied %d times", name, n)
		}
	}
	if len(applied) != len(rows) || len(rows) == 0 {
		t.Errorf("%d migrations applied by the servers, %d rows in django_migrations", len(applied), len(rows))
	}
	if seen["e2esite.0001_initial"] != 1 {
		t.Errorf("e2esite.0001_initial not recorded as applied")
	}
}

func filterLines(lines []string, keep func(string) bool) []string {
	var out []string
	for _, l := range lines {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// migrationRows reads django_migrations as "app.name" strings.
func migrationRows(t *testing.T, pg *pgServer) []string {
	t.Helper()
	const script = `
import json, psycopg, sys
with psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="hurricane") as c:
    print(json.dumps([a + "." + n for a, n in c.execute("SELECT app, name FROM django_migrations ORDER BY id")]))
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonPath, "-c", script, fmt.Sprint(pg.port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = os.Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reading django_migrations: %v\n%s", err, stderr.Bytes())
	}
	var rows []string
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("reading django_migrations: %v: %q", err, out)
	}
	return rows
}

// ---- an unexpected error in the migration check: warning webhook, exit 1

func TestCheckMigrationsError(t *testing.T) {
	recv := newHookReceiver(t, 0)
	s := startLC(t, serverConfig{wait: waitNone},
		append(siteArgs(t, "brokenmigrations"), "--check-migrations", "--webhook-url", recv.url())...)
	took := s.waitExit(t, startTimeout)
	hooks := recv.hooks("")
	t.Logf("exited after %s with code %d; webhooks %v", took.Round(time.Millisecond), s.exitCode(), hooks)
	if code := s.exitCode(); code != 1 {
		t.Errorf("exit code %d after the migration check failed, want 1", code)
	}
	if len(hooks) != 1 || hooks[0].Type != "startup" || hooks[0].Status != "warning" {
		t.Fatalf("webhooks received by exit: %v, want one startup warning", hooks)
	}
	if tb := hooks[0].Traceback; tb == nil || !strings.Contains(*tb, "0000_missing") {
		t.Errorf("warning webhook traceback %v, want the error (naming 0000_missing)", tb)
	}
	if len(s.logs.find(msgIs("startup finished"))) > 0 {
		t.Errorf("startup finished despite the failed migration check")
	}
}

// ---- a database that is not up yet is waited for, not a failure

func TestCheckMigrationsWaitsForDatabase(t *testing.T) {
	pg := startPostgres(t)
	pg.Stop(t)
	s := startLC(t, serverConfig{wait: waitNone, env: pg.Env()},
		append(siteArgs(t, "settings"), "--check-migrations-apply")...)
	waitLog(t, s, startTimeout, "saying it waits for the database", msgIs("waiting for the database"))
	wantAnswer(t, "GET /startup while the database is down", s.probe(t, "/startup"), 400, "")
	if !s.running() {
		t.Fatalf("exited while the database was down: %v", s.err)
	}
	pg.Start(t)
	started := time.Now()
	pollURL(t, s.probeURL("/startup"), 30*time.Second, "startup 200 once the database is up", statusIs(200))
	t.Logf("startup finished %s after PostgreSQL started", time.Since(started).Round(time.Millisecond))
	if rows := migrationRows(t, pg); len(rows) == 0 {
		t.Errorf("no migrations applied")
	}
	wantAnswer(t, "GET /ready", s.probe(t, "/ready"), 200, "")
}
