package static

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestFresh(t *testing.T) {
	s, tr := staticServer(t)
	p := filepath.Join(tr.static, "later.css")
	if r := s.do(t, "GET", "/static/later.css"); r.StatusCode() != 404 {
		t.Fatalf("before it exists: %d", r.StatusCode())
	}
	must(t, os.WriteFile(p, []byte("v1"), 0o644))
	r := s.do(t, "GET", "/static/later.css")
	if r.StatusCode() != 200 || string(r.Body()) != "v1" {
		t.Fatalf("added after New: %d %q", r.StatusCode(), r.Body())
	}
	tag := header(r, "ETag")

	must(t, os.WriteFile(p, []byte("v2"), 0o644)) // same size
	must(t, os.Chtimes(p, tr.mtime.Add(time.Second), tr.mtime.Add(time.Second)))
	r = s.do(t, "GET", "/static/later.css", "If-None-Match: "+tag)
	if r.StatusCode() != 200 || string(r.Body()) != "v2" || header(r, "ETag") == tag {
		t.Fatalf("changed: %d %q, ETag %q (was %q)", r.StatusCode(), r.Body(), header(r, "ETag"), tag)
	}

	// A twin that appears is used at once.
	must(t, os.WriteFile(p+".br", []byte("brotli v2"), 0o644))
	r = s.do(t, "GET", "/static/later.css", "Accept-Encoding: br")
	if string(r.Body()) != "brotli v2" || header(r, "Vary") != "Accept-Encoding" {
		t.Errorf("new twin: %q, Vary %q", r.Body(), header(r, "Vary"))
	}

	must(t, os.Remove(p))
	must(t, os.Remove(p+".br"))
	if r := s.do(t, "GET", "/static/later.css"); r.StatusCode() != 404 {
		t.Errorf("removed: %d", r.StatusCode())
	}
}

func TestRootSwitch(t *testing.T) {
	base := t.TempDir()
	for _, rel := range []string{"r1", "r2"} {
		must(t, os.MkdirAll(filepath.Join(base, rel), 0o755))
		must(t, os.WriteFile(filepath.Join(base, rel, "v.txt"), []byte(rel), 0o644))
	}
	current := filepath.Join(base, "current")
	must(t, os.Symlink("r1", current))
	h, err := New([]Mount{{Prefix: "/static/", Root: current}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64
	now.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	h.now = func() time.Time { return time.Unix(0, now.Load()) }
	s := serveHandler(t, h)

	if got := string(s.do(t, "GET", "/static/v.txt").Body()); got != "r1" {
		t.Fatalf("first release: %q", got)
	}
	// A deploy swaps the symlink; within a second the new release shows.
	tmp := filepath.Join(base, "next")
	must(t, os.Symlink("r2", tmp))
	must(t, os.Rename(tmp, current))
	now.Add(int64(rootTTL) / 2)
	if got := string(s.do(t, "GET", "/static/v.txt").Body()); got != "r1" {
		t.Errorf("within the TTL the resolved root is reused: %q", got)
	}
	now.Add(int64(rootTTL))
	if got := string(s.do(t, "GET", "/static/v.txt").Body()); got != "r2" {
		t.Errorf("after the TTL: %q, want r2", got)
	}
}
