package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWheel is what a user does with the released package: it builds the
// platform wheel with scripts/wheel, installs it with Django into a fresh
// virtualenv that has no other hurricane (and no hurricane on PATH), adds
// "hurricane" to the example project's INSTALLED_APPS, and runs
// "python manage.py serve" and "python manage.py consume", which must exec the
// binary bundled in the wheel.
//
// scripts/test runs the e2e suite twice (Django 5.2, then 4.2); this test runs
// both times, because the management commands run inside the user's Django.
// The second run is cheap: go build and pip's build environment are cached,
// and the virtualenv is filled from a wheelhouse of Django and its
// dependencies kept under ~/.cache/hurricane-dev/wheelhouse (one per Django
// and Python version), without asking PyPI.
func TestWheel(t *testing.T) {
	requirePython(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()

	wheel := strings.TrimSpace(mustRun(t, root, nil, "scripts/wheel", filepath.Join(tmp, "dist")))
	if !strings.HasPrefix(filepath.Base(wheel), "hurricane_server-") || !strings.HasSuffix(wheel, ".whl") {
		t.Fatalf("scripts/wheel printed %q, want the path of a hurricane_server wheel", wheel)
	}
	if strings.HasSuffix(wheel, "-any.whl") {
		t.Fatalf("%s is a pure wheel; scripts/wheel must tag it for the platform", filepath.Base(wheel))
	}

	// The virtualenv: no pip of its own (the test Python's pip installs into
	// it), Django exactly as in the test Python, from the wheelhouse.
	version := strings.TrimSpace(mustRun(t, root, nil, pythonPath, "-c",
		"import django, sys; print(django.__version__, '%d.%d' % sys.version_info[:2])"))
	django, pyVersion, _ := strings.Cut(version, " ")
	house := wheelhouse(t, django, pyVersion)
	venv := filepath.Join(tmp, "venv")
	mustRun(t, root, nil, pythonPath, "-m", "venv", "--without-pip", venv)
	python := filepath.Join(venv, "bin", "python")
	mustRun(t, root, nil, pythonPath, "-m", "pip", "--python", python, "install", "--quiet",
		"--disable-pip-version-check", "--no-compile", "--no-index", "--find-links", house, wheel, "Django=="+django)

	env := wheelEnv(t, venv)
	pkg := strings.TrimSpace(mustRun(t, root, env, python, "-c", "import hurricane, os; print(os.path.dirname(hurricane.__file__))"))
	if !strings.HasPrefix(pkg, venv+string(filepath.Separator)) {
		t.Fatalf("hurricane imports from %s, not from the virtualenv %s", pkg, venv)
	}
	bundled := filepath.Join(pkg, "bin", "hurricane")
	fi, err := os.Stat(bundled)
	if err != nil {
		t.Fatalf("the wheel installed no binary: %v", err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("pip installed %s with mode %v: the wheel lost its executable bit", bundled, fi.Mode())
	}

	project := wheelProject(t, tmp)

	t.Run("serve", func(t *testing.T) {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		probePort, err := freePortExcept(port)
		if err != nil {
			t.Fatal(err)
		}
		// Run from outside the project: the binary runs in the working
		// directory, so the command must pass it the project's directory
		// (--pythonpath) along with the settings module manage.py chose;
		// flags Django does not know go through verbatim.
		s := startManage(t, tmp, env, port, probePort, python, filepath.Join(project, "manage.py"), "serve",
			"--port", strconv.Itoa(port), "--interface", "127.0.0.1", "--probe-port", strconv.Itoa(probePort),
			"--log-format", "json", "--shutdown-delay", "0s")
		waitOK(t, s, s.url("/hello"))
		checkExecd(t, s, bundled)

		c := newClient()
		r := get(t, c, s.url("/hello"))
		wantStatus(t, r, http.StatusOK)
		// Only demo.wheel_settings, the default of the copied manage.py, allows
		// this host: the binary runs the settings Django was using.
		req, err := http.NewRequest(http.MethodGet, s.url("/hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "wheel.test"
		wantStatus(t, do(t, c, req), http.StatusOK)
		wantStatus(t, get(t, c, s.probeURL("/ready")), http.StatusOK)
		c.CloseIdleConnections()

		if err := s.stopWith(syscall.SIGTERM); err != nil {
			t.Fatalf("python manage.py serve after SIGTERM: %v", err)
		}
	})

	t.Run("consume", func(t *testing.T) {
		conn := requireBroker(t)
		queue, exchange, _, _ := testNames(t)
		probePort, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		record := filepath.Join(t.TempDir(), "record")
		s := startManage(t, project, append(env, "E2E_RECORD="+record), 0, probePort, python, "manage.py", "consume",
			"demo.wheel_handlers.RecordingHandler", "--queue", queue, "--exchange", exchange,
			"--amqp-host", "127.0.0.1", "--amqp-port", "5672",
			"--interface", "127.0.0.1", "--probe-port", strconv.Itoa(probePort), "--log-format", "json")
		waitOK(t, s, s.probeURL("/startup"))
		checkExecd(t, s, bundled)

		publish(t, conn, exchange, queue, []string{"from-the-wheel"}, false)
		if counts := waitRecorded(t, record, 1, 30*time.Second); counts["from-the-wheel"] != 1 {
			t.Fatalf("handled %v, want from-the-wheel once", counts)
		}
		if err := s.stopWith(syscall.SIGTERM); err != nil {
			t.Fatalf("python manage.py consume after SIGTERM: %v", err)
		}
	})
}

// mustRun runs a command in dir (with env, if not nil) and returns its stdout;
// it fails the test with the command's output if it fails.
func mustRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// wheelhouse is a directory of wheels of Django and its dependencies for this
// Python, downloaded once per machine (outside the clone).
func wheelhouse(t *testing.T, django, pyVersion string) string {
	t.Helper()
	cache := os.Getenv("HURRICANE_DEV_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "hurricane-dev")
	}
	dir := filepath.Join(cache, "wheelhouse", "django-"+django+"-py"+pyVersion)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".download-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	mustRun(t, tmp, nil, pythonPath, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
		"--only-binary", ":all:", "--dest", tmp, "Django=="+django)
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
			t.Fatal(err) // not another test run filling it first
		}
	}
	return dir
}

// wheelEnv is the environment of a user of the virtualenv: its bin first on
// PATH, then system directories that must hold no hurricane, and none of the
// test run's Python, Django or hurricane settings.
func wheelEnv(t *testing.T, venv string) []string {
	t.Helper()
	path := []string{filepath.Join(venv, "bin"), "/usr/local/bin", "/usr/bin", "/bin"}
	for _, d := range path {
		if _, err := os.Stat(filepath.Join(d, "hurricane")); err == nil {
			t.Fatalf("%s/hurricane exists: the test must run the binary from the wheel, not one on PATH", d)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "VIRTUAL_ENV", k == "PYTHONPATH", k == "PYTHONHOME", k == "DJANGO_SETTINGS_MODULE",
			strings.HasPrefix(k, "HURRICANE_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+strings.Join(path, ":"), "DEMO_DB_PATH="+dbPath, "DJANGO_DEBUG=0")
}

// wheelProject copies examples/demo into dir/project and makes it a user's
// project with "hurricane" in INSTALLED_APPS; it returns the project's path.
func wheelProject(t *testing.T, dir string) string {
	t.Helper()
	project := filepath.Join(dir, "project")
	for _, name := range []string{"manage.py", "demo"} {
		if err := copyTree(filepath.Join(demoDir, name), filepath.Join(project, name)); err != nil {
			t.Fatal(err)
		}
	}
	manage := filepath.Join(project, "manage.py")
	b, err := os.ReadFile(manage)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = `"DJANGO_SETTINGS_MODULE", "demo.settings"`, `"DJANGO_SETTINGS_MODULE", "demo.wheel_settings"`
	if !bytes.Contains(b, []byte(from)) {
		t.Fatalf("examples/demo/manage.py no longer sets %s", from)
	}
	files := map[string]string{
		manage: string(bytes.Replace(b, []byte(from), []byte(to), 1)),
		filepath.Join(project, "demo", "wheel_settings.py"): `from .settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "hurricane"]  # noqa: F405
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "wheel.test"]  # noqa: F405
`,
		filepath.Join(project, "demo", "wheel_handlers.py"): `import os

from hurricane.amqp.basehandler import TopicHandler


class RecordingHandler(TopicHandler):
    def on_message(self, _unused_channel, basic_deliver, properties, body):
        with open(os.environ["E2E_RECORD"], "a") as f:
            f.write("%s %d\n" % (body.decode(), int(basic_deliver.redelivered)))
        self.acknowledge_message(basic_deliver.delivery_tag)
`,
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return project
}

// copyTree copies the file or directory src to dst, without caches and the
// demo's local database and collected files.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch d.Name() {
		case "__pycache__", "db.sqlite3", "staticfiles", "media":
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// startManage runs "python manage.py ARGS" in dir; the server it returns is
// stopped at cleanup if the test has not stopped it.
func startManage(t *testing.T, dir string, env []string, port, probePort int, python string, args ...string) *server {
	t.Helper()
	s := newServer(port, probePort)
	s.cmd = exec.Command(python, args...)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { _ = s.stop() })
	s.dumpOnFailure(t)
	return s
}

// waitOK polls url until it answers 200, failing if the process exits first.
func waitOK(t *testing.T, s *server, url string) {
	t.Helper()
	c := newClient()
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			t.Fatalf("exited during startup (%v)", s.err)
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %s (last: %v)", url, startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// checkExecd checks that the python process became the bundled binary: the
// management command exec'd it, so signals reach Go directly.
func checkExecd(t *testing.T, s *server, bundled string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Logf("not checking that the process runs %s: needs Linux /proc", bundled)
		return
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.EvalSymlinks(bundled)
	if err != nil {
		t.Fatal(err)
	}
	if exe != want {
		t.Fatalf("process %d runs %s, want the bundled binary %s", s.cmd.Process.Pid, exe, want)
	}
}
