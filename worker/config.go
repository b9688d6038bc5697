package worker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/hurricane-run/hurricane/protocol"
	"time"
)

// Config is what a Pool needs to start workers.
type Config struct {
	Python       string   // interpreter; empty: $VIRTUAL_ENV/bin/python, else python3
	Settings     string   // DJANGO_SETTINGS_MODULE
	PythonPath   []string // extra import paths, as manage.py --pythonpath
	Dir          string   // the project directory (working directory of workers)
	StartTimeout time.Duration
	Env          []string // extra environment for workers
	Serving
}

// Serving is the part of the configuration that may come from Django
// settings, so it is known only after the settings snapshot.
type Serving struct {
	Processes     int
	Threads       int   // sync view threads per process
	AsyncLimit    int   // concurrent async requests per process
	MaxBufferSize int   // bytes of one request body held in memory at once
	MaxMemory     int64 // bytes of RSS above which a worker is replaced; 0: no limit
	// DrainTimeout is how long a replaced worker may finish its requests.
	DrainTimeout time.Duration
	Debugger     Debugger
	// Consume makes the workers run an AMQP handler instead of serving HTTP.
	Consume *protocol.HandlerArgs
}

// Debugger makes serving workers wait for a debugger (SPEC §2).
type Debugger struct {
	Port        int // debugpy listens on Port+slot; 0: off
	PycharmHost string
	PycharmPort int
}

func (d Debugger) env(slot int) []string {
	var env []string
	if d.Port > 0 {
		env = append(env, "HURRICANE_WORKER_DEBUGGER_PORT="+strconv.Itoa(d.Port+slot))
	}
	if d.PycharmHost != "" {
		env = append(env, "HURRICANE_WORKER_PYCHARM_HOST="+d.PycharmHost)
		if d.PycharmPort > 0 {
			env = append(env, "HURRICANE_WORKER_PYCHARM_PORT="+strconv.Itoa(d.PycharmPort))
		}
	}
	return env
}

// ErrNoPython means no Python interpreter could be found.
var ErrNoPython = errors.New("python interpreter not found")

// interpreter resolves the Python executable to run.
func (c *Config) interpreter() (string, error) {
	name := c.Python
	if name == "" {
		if venv := os.Getenv("VIRTUAL_ENV"); venv != "" {
			cand := filepath.Join(venv, "bin", "python")
			if _, err := os.Stat(cand); err == nil {
				return cand, nil
			}
		}
		name = "python3"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %q (install Python 3.10 or newer, activate the project's virtualenv, or pass --python / set HURRICANE_PYTHON)", ErrNoPython, name)
	}
	return path, nil
}

func (c *Config) withDefaults() Config {
	cc := *c
	cc.Serving = cc.Serving.withDefaults()
	if cc.StartTimeout <= 0 {
		cc.StartTimeout = 60 * time.Second
	}
	return cc
}

func (s Serving) withDefaults() Serving {
	cc := s
	if cc.Processes < 1 {
		cc.Processes = 1
	}
	if cc.Threads < 1 {
		cc.Threads = 1
	}
	if cc.AsyncLimit < 1 {
		cc.AsyncLimit = 1000
	}
	if cc.DrainTimeout <= 0 {
		cc.DrainTimeout = 20 * time.Second
	}
	if cc.MaxBufferSize <= 0 {
		cc.MaxBufferSize = 100 << 20
	}
	return cc
}
