package worker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	Sizing
}

// Sizing is the part of the configuration that may come from Django
// settings, so it is known only after the settings snapshot.
type Sizing struct {
	Processes     int
	Threads       int // sync view threads per process
	AsyncLimit    int // concurrent async requests per process
	MaxBufferSize int // bytes of one request body held in memory at once
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
	cc.Sizing = cc.Sizing.withDefaults()
	if cc.StartTimeout <= 0 {
		cc.StartTimeout = 60 * time.Second
	}
	return cc
}

func (s Sizing) withDefaults() Sizing {
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
	if cc.MaxBufferSize <= 0 {
		cc.MaxBufferSize = 100 << 20
	}
	return cc
}
