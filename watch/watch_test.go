package watch

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestChangesAreDebouncedAndFiltered(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "app", "__pycache__"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "venv"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "venv", "pyvenv.cfg"), nil, 0o644))
	w, err := New(Config{Roots: []string{dir}, Match: PythonSource, Quiet: 50 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(err)
	got := make(chan []string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx, func(p []string) { slices.Sort(p); got <- p }); close(done) }()
	defer func() { cancel(); <-done }()

	// Ignored: not Python, bytecode cache, a virtualenv.
	must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "app", "__pycache__", "views.cpython-311.py"), []byte("x"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "venv", "site.py"), []byte("x"), 0o644))
	// Counted, twice in a burst: one call.
	views := filepath.Join(dir, "app", "views.py")
	must(os.WriteFile(views, []byte("a"), 0o644))
	must(os.WriteFile(views, []byte("b"), 0o644))
	// A new package with a module in it.
	must(os.MkdirAll(filepath.Join(dir, "newpkg"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "newpkg", "mod.py"), []byte("x"), 0o644))

	deadline := time.After(5 * time.Second)
	seen := map[string]bool{}
	for !seen[views] || !seen[filepath.Join(dir, "newpkg", "mod.py")] {
		select {
		case p := <-got:
			for _, f := range p {
				seen[f] = true
			}
		case <-deadline:
			t.Fatalf("changes not reported; seen %v", seen)
		}
	}
	for f := range seen {
		if !PythonSource(f) || filepath.Base(filepath.Dir(f)) == "__pycache__" || filepath.Base(filepath.Dir(f)) == "venv" {
			t.Errorf("reported a change that should be ignored: %s", f)
		}
	}
}
