package worker

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const bootstrap = "import os,sys;sys.path.insert(0,os.environ['HURRICANE_WORKER_PACKAGE_DIR']);" +
	"from hurricane.worker.main import main;main()"

// exitStartError is the worker's exit status for a startup failure it has
// explained in a fatal record.
const exitStartError = 3

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// spawn starts a worker process for slot in mode ("serve" or "snapshot").
// The process attaches its lanes through the pool's listener.
func (pl *Pool) spawn(slot int, mode string) (*Process, error) {
	lanes := 2
	if mode == "snapshot" {
		lanes = 1
	}
	log := pl.log.With("worker", slot)
	p := newProcess(slot, newToken(), lanes, log)

	recR, recW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", slot, err)
	}
	cmd := exec.Command(pl.python, "-c", bootstrap)
	cmd.Dir = pl.cfg.Dir
	cmd.Env = append(os.Environ(), pl.cfg.Env...)
	cmd.Env = append(cmd.Env,
		"PYTHONUNBUFFERED=1",
		"DJANGO_SETTINGS_MODULE="+pl.cfg.Settings,
		"HURRICANE_WORKER_PACKAGE_DIR="+pl.pkgDir,
		"HURRICANE_WORKER_SOCKET="+pl.sockPath,
		"HURRICANE_WORKER_SLOT="+strconv.Itoa(slot),
		"HURRICANE_WORKER_TOKEN="+p.token,
		"HURRICANE_WORKER_MODE="+mode,
		"HURRICANE_WORKER_THREADS="+strconv.Itoa(pl.cfg.Threads),
		"HURRICANE_WORKER_ASYNC_LIMIT="+strconv.Itoa(pl.cfg.AsyncLimit),
		"HURRICANE_WORKER_MAX_BUFFER="+strconv.Itoa(pl.cfg.MaxBufferSize),
		"HURRICANE_WORKER_LOG_FD=3",
		"HURRICANE_WORKER_LOG_LEVEL="+pl.logLevel(),
		"HURRICANE_WORKER_PYTHONPATH="+strings.Join(pl.cfg.PythonPath, string(os.PathListSeparator)),
		// Counters without _created samples: Go sums them over processes.
		"PROMETHEUS_DISABLE_CREATED_SERIES=True",
	)
	if mode == "serve" {
		cmd.Env = append(cmd.Env, pl.cfg.Debugger.env(slot)...)
		if h := pl.cfg.Consume; h != nil {
			js, _ := json.Marshal(map[string]any{"queue": h.Queue, "exchange": h.Exchange, "host": h.Host,
				"port": h.Port, "vhost": h.VHost, "username": h.Username, "password": h.Password})
			cmd.Env = append(cmd.Env, "HURRICANE_WORKER_MODE=consume", "HURRICANE_WORKER_HANDLER="+h.Handler, "HURRICANE_WORKER_AMQP="+string(js))
		}
	}
	cmd.ExtraFiles = []*os.File{recW}
	if mode == "serve" && pl.cfg.Consume == nil {
		// Without a region (not Linux, or no memfd) bodies take the socket.
		if r, err := newBodyRegion(); err == nil {
			p.region = r
			cmd.ExtraFiles = append(cmd.ExtraFiles, r.file)
			cmd.Env = append(cmd.Env, r.env())
			cmd.Env = append(cmd.Env, tunablesEnv(cmd.Env)...)
		} else {
			log.Debug("response bodies go through the socket only", "error", err)
		}
	}
	// Its own process group: a terminal's Ctrl-C reaches Go, which shuts
	// workers down in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	pl.register(p)
	if err := cmd.Start(); err != nil {
		pl.unregister(p)
		recR.Close()
		recW.Close()
		if p.region != nil {
			p.region.close()
		}
		return nil, fmt.Errorf("start worker %d with %s: %w", slot, pl.python, err)
	}
	recW.Close()
	if p.region != nil {
		p.region.closeFile()
	}
	p.cmd = cmd
	p.pid = cmd.Process.Pid
	plog := log.With("pid", p.pid)

	outputDone := make(chan struct{}, 3)
	go relogLines(plog, stdout, "stdout", outputDone)
	go relogLines(plog, stderr, "stderr", outputDone)
	go p.relogRecords(plog, recR, outputDone)
	go func() {
		// Output first: Wait closes the pipes, and the last records explain
		// an early exit.
		for range 3 {
			<-outputDone
		}
		p.exitErr = cmd.Wait()
		pl.unregister(p)
		p.closeLanes()
		p.failStreams()
		if p.region != nil {
			p.region.close()
		}
		close(p.exited)
	}()
	return p, nil
}

// logLevel is the least level the pool logs, so workers do not send what
// would be dropped.
func (pl *Pool) logLevel() string {
	ctx := context.Background()
	for _, l := range []struct {
		level slog.Level
		name  string
	}{{slog.LevelDebug, "debug"}, {slog.LevelInfo, "info"}, {slog.LevelWarn, "warn"}} {
		if pl.log.Enabled(ctx, l.level) {
			return l.name
		}
	}
	return "error"
}

// waitReady waits until the process has attached its lanes, exited, or the
// start timeout passed.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return p.startError()
	case <-t.C:
		p.kill()
		<-p.exited
		return fmt.Errorf("worker %d did not connect within %s; its output is logged above (raise --start-timeout if the project imports slowly)", p.slot, timeout)
	case <-ctx.Done():
		p.kill()
		<-p.exited
		return context.Cause(ctx)
	}
}

func (p *Process) startError() error {
	if p.fatal != nil {
		return p.fatal
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		code = ee.ExitCode()
	}
	return fmt.Errorf("worker %d exited with status %d before it was ready; its output is logged above", p.slot, code)
}

func relogLines(log *slog.Logger, r io.Reader, stream string, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		log.Info("app output", "stream", stream, "line", sc.Text())
	}
	_, _ = io.Copy(io.Discard, r)
}

// relogRecords re-logs the worker's own structured records.
func (p *Process) relogRecords(log *slog.Logger, r io.ReadCloser, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			log.Warn("unparsable worker record", "line", sc.Text())
			continue
		}
		msg, _ := rec["msg"].(string)
		lvl := slog.LevelInfo
		switch rec["level"] {
		case "debug":
			lvl = slog.LevelDebug
		case "warn":
			lvl = slog.LevelWarn
		case "error":
			lvl = slog.LevelError
		}
		if fatal, _ := rec["fatal"].(bool); fatal {
			hint, _ := rec["hint"].(string)
			p.fatal = &StartError{Msg: msg, Hint: hint}
			if tb, ok := rec["traceback"].(string); ok {
				log.Debug("worker startup traceback", "traceback", tb)
			}
			continue
		}
		attrs := make([]any, 0, 2*len(rec))
		for k, v := range rec {
			switch k {
			case "msg", "level", "time":
				continue
			}
			attrs = append(attrs, k, v)
		}
		log.Log(context.Background(), lvl, msg, attrs...)
	}
}
