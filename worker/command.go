package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// CommandError is a management command that failed; Output holds the end of
// what it wrote to standard error (usually the traceback).
type CommandError struct {
	Command string
	Code    int
	Output  string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("command %q exited with status %d", e.Command, e.Code)
}

// RunManagement runs a Django management command in its own short-lived
// Python process, as manage.py would ("python -m django ARGS"), re-logging
// its output line by line.
func (pl *Pool) RunManagement(ctx context.Context, args []string) error {
	return pl.runPython(ctx, strings.Join(args, " "), append([]string{"-m", "django"}, args...))
}

// ApplyMigrations runs migrate under a PostgreSQL advisory lock
// (--check-migrations-apply), so replicas never migrate at once.
func (pl *Pool) ApplyMigrations(ctx context.Context) error {
	return pl.runPython(ctx, "migrate (locked)", []string{"-c", "import os,sys;sys.path.insert(0,os.environ['HURRICANE_WORKER_PACKAGE_DIR']);from hurricane.worker.migrate import main;main()"})
}

const keepOutput = 16 << 10

func (pl *Pool) runPython(ctx context.Context, name string, args []string) error {
	cmd := exec.Command(pl.python, args...)
	cmd.Dir = pl.cfg.Dir
	cmd.Env = append(os.Environ(), pl.cfg.Env...)
	cmd.Env = append(cmd.Env,
		"PYTHONUNBUFFERED=1",
		"DJANGO_SETTINGS_MODULE="+pl.cfg.Settings,
		"HURRICANE_WORKER_PACKAGE_DIR="+pl.pkgDir,
		"PYTHONPATH="+strings.Join(append(append([]string{}, pl.cfg.PythonPath...), os.Getenv("PYTHONPATH")), string(os.PathListSeparator)),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	log := pl.log.With("command", name, "pid", cmd.Process.Pid)
	var tail tailBuffer
	var wg sync.WaitGroup
	wg.Go(func() { relogCommand(log, stdout, "stdout", nil) })
	wg.Go(func() { relogCommand(log, stderr, "stderr", &tail) })
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	wg.Wait()
	err = cmd.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &CommandError{Command: name, Code: ee.ExitCode(), Output: tail.String()}
	}
	return err
}

func relogCommand(log interface {
	Info(string, ...any)
}, r io.Reader, stream string, tail *tailBuffer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		log.Info("command output", "stream", stream, "line", sc.Text())
		if tail != nil {
			tail.add(sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// tailBuffer keeps the last lines of an output, up to keepOutput bytes.
type tailBuffer struct {
	lines []string
	size  int
}

func (t *tailBuffer) add(line string) {
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > keepOutput && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

func (t *tailBuffer) String() string { return strings.Join(t.lines, "\n") }
