package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Config says what to watch.
type Config struct {
	Roots []string // directory trees (or single files) to watch
	// Match picks the changed files that count; nil: all.
	Match func(path string) bool
	// Quiet is how long changes must stop before OnChange runs, so an
	// editor's save or a git checkout is one change.
	Quiet time.Duration
}

// Watcher watches Config.Roots.
type Watcher struct {
	cfg Config
	fsw *fsnotify.Watcher
	log *slog.Logger
}

// New starts watching every directory under the roots, skipping the ones no
// project code lives in (hidden ones, __pycache__, node_modules, virtualenvs).
func New(cfg Config, log *slog.Logger) (*Watcher, error) {
	if cfg.Quiet <= 0 {
		cfg.Quiet = 200 * time.Millisecond
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch files: %w", err)
	}
	w := &Watcher{cfg: cfg, fsw: fsw, log: log}
	for _, root := range cfg.Roots {
		if err := w.addTree(root); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	return w, nil
}

// skipDir reports directories that hold no project code.
func skipDir(path string) bool {
	name := filepath.Base(path)
	if name == "__pycache__" || name == "node_modules" || (strings.HasPrefix(name, ".") && name != "." && name != "..") {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg")) // a virtualenv
	return err == nil
}

func (w *Watcher) addTree(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("watch %s: %w", root, err)
	}
	if !fi.IsDir() {
		return w.fsw.Add(root)
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // vanished or unreadable below the root: not ours
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && skipDir(path) {
			return filepath.SkipDir
		}
		if err := w.fsw.Add(path); err != nil {
			return fmt.Errorf("watch %s: %w (raise fs.inotify.max_user_watches?)", path, err)
		}
		return nil
	})
}

// Run calls onChange with the changed paths each time changes stop for
// Config.Quiet, until ctx ends. onChange runs on Run's goroutine: changes
// during it are collected for the next call.
func (w *Watcher) Run(ctx context.Context, onChange func(paths []string)) error {
	defer w.fsw.Close()
	changed := map[string]bool{}
	var quiet <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && !skipDir(ev.Name) {
					// A new package: watch it and count the files it came with.
					_ = w.addTree(ev.Name)
					_ = filepath.WalkDir(ev.Name, func(p string, d fs.DirEntry, err error) error {
						if err == nil && !d.IsDir() && w.matches(p) {
							changed[p] = true
						}
						return nil
					})
				}
			}
			if ev.Op == fsnotify.Chmod || !w.matches(ev.Name) {
				continue
			}
			changed[ev.Name] = true
			if timer == nil {
				timer = time.NewTimer(w.cfg.Quiet)
			} else {
				timer.Reset(w.cfg.Quiet)
			}
			quiet = timer.C
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				changed["(many files)"] = true
			}
			w.log.Warn("file watch error", "error", err)
		case <-quiet:
			quiet = nil
			if len(changed) == 0 {
				continue
			}
			paths := make([]string, 0, len(changed))
			for p := range changed {
				paths = append(paths, p)
			}
			clear(changed)
			onChange(paths)
		}
	}
}

func (w *Watcher) matches(path string) bool {
	return w.cfg.Match == nil || w.cfg.Match(path)
}

// PythonSource matches Python files outside bytecode caches.
func PythonSource(path string) bool {
	return strings.HasSuffix(path, ".py") && !strings.Contains(path, string(filepath.Separator)+"__pycache__"+string(filepath.Separator))
}
