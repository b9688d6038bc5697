package static

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type finderFunc func(ctx context.Context, rel string) (string, bool, error)

func (f finderFunc) Find(ctx context.Context, rel string) (string, bool, error) {
	return f(ctx, rel)
}

func TestFinder(t *testing.T) {
	tr := newTree(t)
	appDir := filepath.Join(tr.base, "app", "static")
	must(t, os.MkdirAll(filepath.Join(appDir, "admin"), 0o755))
	must(t, os.WriteFile(filepath.Join(appDir, "admin", "base.css"), []byte("admin css"), 0o644))
	must(t, os.WriteFile(filepath.Join(appDir, "admin", "base.css.br"), []byte("never used"), 0o644))
	var mu sync.Mutex
	var asked []string
	finder := finderFunc(func(ctx context.Context, rel string) (string, bool, error) {
		mu.Lock()
		asked = append(asked, rel)
		mu.Unlock()
		if _, ok := ctx.Deadline(); !ok {
			return "", false, errors.New("no deadline")
		}
		switch rel {
		case "admin/base.css":
			return filepath.Join(appDir, "admin", "base.css"), true, nil
		case "admin/dir.css":
			return filepath.Join(appDir, "admin"), true, nil
		case "relative.css":
			return "admin/base.css", true, nil
		case "boom.css":
			return "", false, errors.New("worker gone")
		}
		return "", false, nil
	})
	s := newServer(t, Mount{Prefix: "/static/", Root: tr.static, Finder: finder})
	cases := []struct {
		path   string
		status int
		body   string
		cache  string
	}{
		{"/static/admin/base.css", 200, "admin css", cacheFinder},
		{"/static/app.css", 200, "body{color:red}\n", cacheShort}, // in the root: finder not asked
		{"/static/admin/missing.css", 404, "", ""},
		{"/static/admin/dir.css", 404, "", ""},
		{"/static/relative.css", 404, "", ""},
		{"/static/boom.css", 503, "", ""},
		{"/static/../outside/secret.txt", 404, "", ""}, // refused before asking
		{"/static/%2e%2e/outside/secret.txt", 404, "", ""},
	}
	for _, c := range cases {
		r := s.do(t, "GET", c.path, "Accept-Encoding: br")
		if r.StatusCode() != c.status {
			t.Errorf("%s: status %d, want %d", c.path, r.StatusCode(), c.status)
			continue
		}
		if c.status == 200 && (string(r.Body()) != c.body || header(r, "Cache-Control") != c.cache || header(r, "Content-Encoding") != "") {
			t.Errorf("%s: %q, Cache-Control %q, Content-Encoding %q", c.path, r.Body(), header(r, "Cache-Control"), header(r, "Content-Encoding"))
		}
	}
	mu.Lock()
	got := strings.Join(asked, " ")
	mu.Unlock()
	want := "admin/base.css admin/missing.css admin/dir.css relative.css boom.css"
	if got != want {
		t.Errorf("finder asked for %q, want %q", got, want)
	}

	// Without a root, everything comes from the finder.
	s = newServer(t, Mount{Prefix: "/static/", Root: filepath.Join(tr.base, "nope"), Finder: finder})
	if r := s.do(t, "GET", "/static/admin/base.css"); r.StatusCode() != 200 {
		t.Errorf("finder without a root: %d", r.StatusCode())
	}
}
