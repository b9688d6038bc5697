package static

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func staticServer(t *testing.T) (*server, *tree) {
	tr := newTree(t)
	return newServer(t,
		Mount{Prefix: "/static/", Root: tr.static},
		Mount{Prefix: "/media/", Root: tr.media, Media: true},
	), tr
}

func TestGet(t *testing.T) {
	s, tr := staticServer(t)
	lastModified := tr.mtime.Format(http.TimeFormat)
	cases := []struct {
		name, path, body, ctype, cache string
	}{
		{"css", "/static/app.css", "body{color:red}\n", "text/css; charset=utf-8", cacheShort},
		{"hashed name is immutable", "/static/app.3f2a9b1c4d5e.css", "body{color:blue}\n", "text/css; charset=utf-8", cacheImmutable},
		{"unknown extension", "/static/data.unknownext", "???", octetStream, cacheShort},
		{"no extension", "/static/noext", "plain", octetStream, cacheShort},
		{"nested", "/static/sub/deep/file.json", `{"deep":true}`, "application/json", cacheShort},
		{"symlink inside the root", "/static/link-in.css", "body{color:red}\n", "text/css; charset=utf-8", cacheShort},
		{"symlink up a directory, still inside", "/static/sub/link-up.js", "console.log('plain');\n", "text/javascript; charset=utf-8", cacheShort},
		{"symlinked directory inside the root", "/static/sublink/deep/file.json", `{"deep":true}`, "application/json", cacheShort},
		{"query string ignored", "/static/app.css?v=3", "body{color:red}\n", "text/css; charset=utf-8", cacheShort},
		{"encoded utf-8 name", "/static/caf%C3%A9.txt", "accent", "text/plain; charset=utf-8", cacheShort},
		{"encoded space", "/static/with%20space.txt", "space", "text/plain; charset=utf-8", cacheShort},
		{"encoded dot inside a name", "/static/app%2Ecss", "body{color:red}\n", "text/css; charset=utf-8", cacheShort},
		{"empty file", "/static/empty.txt", "", "text/plain; charset=utf-8", cacheShort},
		{"gz asked for by name", "/static/plain.txt.gz", "a gzip file asked for by name", "application/gzip", cacheShort},
		{"media file is never immutable", "/media/photo.3f2a9b1c4d5e.png", "PNG hashed-looking upload", "image/png", cacheShort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "GET", c.path, "Accept-Encoding: br, gzip")
			if r.StatusCode() != 200 {
				t.Fatalf("status %d, want 200 (%q)", r.StatusCode(), r.Body())
			}
			if string(r.Body()) != c.body {
				t.Errorf("body %q, want %q", r.Body(), c.body)
			}
			want := map[string]string{
				"Content-Type":     c.ctype,
				"Cache-Control":    c.cache,
				"Accept-Ranges":    "bytes",
				"Last-Modified":    lastModified,
				"Content-Length":   strconv.Itoa(len(c.body)),
				"Content-Encoding": "",
				"Vary":             "",
			}
			for k, v := range want {
				if got := header(r, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tag := header(r, "ETag"); len(tag) < 5 || tag[0] != '"' || tag[len(tag)-1] != '"' {
				t.Errorf("ETag %q is not a strong quoted tag", tag)
			}
		})
	}
}

func TestHead(t *testing.T) {
	s, _ := staticServer(t)
	get := s.do(t, "GET", "/static/app.css")
	head := s.do(t, "HEAD", "/static/app.css")
	if head.StatusCode() != 200 || len(head.Body()) != 0 {
		t.Fatalf("HEAD: status %d body %q", head.StatusCode(), head.Body())
	}
	for _, k := range []string{"Content-Length", "Content-Type", "ETag", "Last-Modified", "Cache-Control", "Accept-Ranges"} {
		if header(head, k) != header(get, k) || header(get, k) == "" {
			t.Errorf("%s: HEAD %q, GET %q", k, header(head, k), header(get, k))
		}
	}
	// HEAD has no range handling (RFC 9110 §14.2).
	if r := s.do(t, "HEAD", "/static/app.css", "Range: bytes=0-1"); r.StatusCode() != 200 || header(r, "Content-Length") != "16" {
		t.Errorf("HEAD with Range: %d, Content-Length %q", r.StatusCode(), header(r, "Content-Length"))
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s, _ := staticServer(t)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"} {
		for _, path := range []string{"/static/app.css", "/static/missing", "/media/page.html"} {
			r := s.do(t, m, path)
			if r.StatusCode() != 405 || header(r, "Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", m, path, r.StatusCode(), header(r, "Allow"))
			}
		}
	}
}

func TestNotHandled(t *testing.T) {
	s, _ := staticServer(t)
	for _, path := range []string{"/", "/static", "/staticfoo/app.css", "/api/static/app.css", "/STATIC/app.css", "/%73tatic/app.css", "/mediax/photo.png"} {
		if r := s.do(t, "GET", path); r.StatusCode() != djangoStatus {
			t.Errorf("GET %s: status %d, want it left to Django", path, r.StatusCode())
		}
	}
}

func TestConditional(t *testing.T) {
	s, tr := staticServer(t)
	first := s.do(t, "GET", "/static/app.css")
	tag := header(first, "ETag")
	same := tr.mtime.Format(http.TimeFormat)
	later := tr.mtime.Add(time.Hour).Format(http.TimeFormat)
	earlier := tr.mtime.Add(-time.Second).Format(http.TimeFormat)
	cases := []struct {
		name    string
		headers []string
		want    int
	}{
		{"exact tag", []string{"If-None-Match: " + tag}, 304},
		{"weak form of the tag", []string{"If-None-Match: W/" + tag}, 304},
		{"tag in a list", []string{`If-None-Match: "nope", W/"x", ` + tag}, 304},
		{"list without spaces", []string{`If-None-Match: "a",` + tag}, 304},
		{"star", []string{"If-None-Match: *"}, 304},
		{"other tag", []string{`If-None-Match: "other"`}, 200},
		{"unquoted garbage", []string{"If-None-Match: " + strings.Trim(tag, `"`)}, 200},
		{"same second", []string{"If-Modified-Since: " + same}, 304},
		{"later date", []string{"If-Modified-Since: " + later}, 304},
		{"earlier date", []string{"If-Modified-Since: " + earlier}, 200},
		{"unparsable date", []string{"If-Modified-Since: yesterday"}, 200},
		{"If-None-Match wins over a fresh date", []string{`If-None-Match: "other"`, "If-Modified-Since: " + later}, 200},
		{"If-None-Match wins over a stale date", []string{"If-None-Match: " + tag, "If-Modified-Since: " + earlier}, 304},
		{"304 beats Range", []string{"If-None-Match: " + tag, "Range: bytes=0-1"}, 304},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "GET", "/static/app.css", c.headers...)
			if r.StatusCode() != c.want {
				t.Fatalf("status %d, want %d", r.StatusCode(), c.want)
			}
			if c.want != 304 {
				return
			}
			if len(r.Body()) != 0 || header(r, "Content-Type") != "" {
				t.Errorf("304 with body %q, Content-Type %q", r.Body(), header(r, "Content-Type"))
			}
			if header(r, "ETag") != tag || header(r, "Cache-Control") != cacheShort {
				t.Errorf("304 ETag %q, Cache-Control %q", header(r, "ETag"), header(r, "Cache-Control"))
			}
		})
	}
	// HEAD is conditional too.
	if r := s.do(t, "HEAD", "/static/app.css", "If-None-Match: "+tag); r.StatusCode() != 304 {
		t.Errorf("conditional HEAD: %d", r.StatusCode())
	}
}

func TestRange(t *testing.T) {
	s, tr := staticServer(t)
	full := s.do(t, "GET", "/static/0123456789.txt")
	tag := header(full, "ETag")
	date := tr.mtime.Format(http.TimeFormat)
	cases := []struct {
		name         string
		headers      []string
		status       int
		body, crange string
	}{
		{"closed", []string{"Range: bytes=2-5"}, 206, "2345", "bytes 2-5/10"},
		{"open", []string{"Range: bytes=7-"}, 206, "789", "bytes 7-9/10"},
		{"suffix", []string{"Range: bytes=-3"}, 206, "789", "bytes 7-9/10"},
		{"suffix longer than the file", []string{"Range: bytes=-50"}, 206, "0123456789", "bytes 0-9/10"},
		{"end past the file", []string{"Range: bytes=8-1000"}, 206, "89", "bytes 8-9/10"},
		{"one byte", []string{"Range: bytes=0-0"}, 206, "0", "bytes 0-0/10"},
		{"spaces", []string{"Range: bytes= 1 - 2 "}, 206, "12", "bytes 1-2/10"},
		{"huge end", []string{"Range: bytes=9-99999999999999999999999"}, 206, "9", "bytes 9-9/10"},
		{"start at the size", []string{"Range: bytes=10-"}, 416, "", "bytes */10"},
		{"start past the size", []string{"Range: bytes=11-20"}, 416, "", "bytes */10"},
		{"huge start", []string{"Range: bytes=99999999999999999999999-"}, 416, "", "bytes */10"},
		{"empty suffix", []string{"Range: bytes=-0"}, 416, "", "bytes */10"},
		{"several ranges", []string{"Range: bytes=0-1,4-5"}, 200, "0123456789", ""},
		{"other unit", []string{"Range: items=0-1"}, 200, "0123456789", ""},
		{"reversed", []string{"Range: bytes=5-2"}, 200, "0123456789", ""},
		{"garbage", []string{"Range: bytes=a-b"}, 200, "0123456789", ""},
		{"negative", []string{"Range: bytes=-1-2"}, 200, "0123456789", ""},
		{"If-Range tag matches", []string{"Range: bytes=0-1", "If-Range: " + tag}, 206, "01", "bytes 0-1/10"},
		{"If-Range tag differs", []string{"Range: bytes=0-1", `If-Range: "old"`}, 200, "0123456789", ""},
		{"If-Range weak tag", []string{"Range: bytes=0-1", "If-Range: W/" + tag}, 200, "0123456789", ""},
		{"If-Range date matches", []string{"Range: bytes=0-1", "If-Range: " + date}, 206, "01", "bytes 0-1/10"},
		{"If-Range date differs", []string{"Range: bytes=0-1", "If-Range: " + tr.mtime.Add(-time.Hour).Format(http.TimeFormat)}, 200, "0123456789", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, "GET", "/static/0123456789.txt", c.headers...)
			if r.StatusCode() != c.status {
				t.Fatalf("status %d, want %d", r.StatusCode(), c.status)
			}
			if got := header(r, "Content-Range"); got != c.crange {
				t.Errorf("Content-Range %q, want %q", got, c.crange)
			}
			if header(r, "Accept-Ranges") != "bytes" {
				t.Errorf("Accept-Ranges %q", header(r, "Accept-Ranges"))
			}
			if c.status == 416 {
				if header(r, "Cache-Control") != "" || header(r, "ETag") != "" {
					t.Errorf("416 is cacheable: Cache-Control %q, ETag %q", header(r, "Cache-Control"), header(r, "ETag"))
				}
				return
			}
			if string(r.Body()) != c.body || header(r, "Content-Length") != strconv.Itoa(len(c.body)) {
				t.Errorf("body %q (Content-Length %s), want %q", r.Body(), header(r, "Content-Length"), c.body)
			}
			if header(r, "Content-Type") != "text/plain; charset=utf-8" || header(r, "ETag") != tag {
				t.Errorf("Content-Type %q, ETag %q", header(r, "Content-Type"), header(r, "ETag"))
			}
		})
	}
	if r := s.do(t, "GET", "/static/empty.txt", "Range: bytes=0-"); r.StatusCode() != 416 || header(r, "Content-Range") != "bytes */0" {
		t.Errorf("range of an empty file: %d %q", r.StatusCode(), header(r, "Content-Range"))
	}
}

func TestPrecompressed(t *testing.T) {
	s, _ := staticServer(t)
	js := "text/javascript; charset=utf-8"
	cases := []struct {
		name, path, accept string // accept "-": no header
		encoding, body     string
		vary               bool
		ctype              string
	}{
		{"br preferred", "/static/js/app.js", "gzip, deflate, br", "br", "BROTLI-BYTES", true, js},
		{"gzip only", "/static/js/app.js", "gzip", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"x-gzip", "/static/js/app.js", "x-gzip", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"br refused with q=0", "/static/js/app.js", "br;q=0, gzip", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"gzip ranked higher", "/static/js/app.js", "gzip;q=1.0, br;q=0.5", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"equal q prefers br", "/static/js/app.js", "gzip;q=0.8, br;q=0.8", "br", "BROTLI-BYTES", true, js},
		{"star", "/static/js/app.js", "*", "br", "BROTLI-BYTES", true, js},
		{"star but br refused", "/static/js/app.js", "*, br;q=0", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"uppercase", "/static/js/app.js", "GZIP", "gzip", "GZIP-BYTES-LONGER", true, js},
		{"identity only", "/static/js/app.js", "identity", "", "console.log('plain');\n", true, js},
		{"everything refused", "/static/js/app.js", "br;q=0, gzip;q=0", "", "console.log('plain');\n", true, js},
		{"empty header", "/static/js/app.js", "", "", "console.log('plain');\n", true, js},
		{"no header", "/static/js/app.js", "-", "", "console.log('plain');\n", true, js},
		{"bad q ignored", "/static/js/app.js", "br;q=2, gzip;q=abc", "", "console.log('plain');\n", true, js},
		{"only a gz twin, br asked", "/static/only-gz.css", "br", "", "only gz plain", true, "text/css; charset=utf-8"},
		{"only a gz twin, both asked", "/static/only-gz.css", "br, gzip", "gzip", "only gz gzip", true, "text/css; charset=utf-8"},
		{"symlinked name finds the twin next to the link", "/static/sub/link-up.js", "br", "", "console.log('plain');\n", false, js},
		{"twin through a symlinked directory", "/static/linkdir-in/app.js", "br", "br", "BROTLI-BYTES", true, js},
		{"no twins", "/static/app.css", "br, gzip", "", "body{color:red}\n", false, "text/css; charset=utf-8"},
		{"twin that is a directory", "/static/dirtwin.css", "br", "", "twin is a directory", false, "text/css; charset=utf-8"},
		{"twin that links out", "/static/outtwin.css", "br", "", "twin links out", false, "text/css; charset=utf-8"},
		{"a .gz asked for by name", "/static/js/app.js.gz", "gzip, br", "", "GZIP-BYTES-LONGER", false, "application/gzip"},
		{"a .br asked for by name", "/static/js/app.js.br", "gzip, br", "", "BROTLI-BYTES", false, octetStream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdrs []string
			if c.accept != "-" {
				hdrs = append(hdrs, "Accept-Encoding: "+c.accept)
			}
			r := s.do(t, "GET", c.path, hdrs...)
			if r.StatusCode() != 200 {
				t.Fatalf("status %d", r.StatusCode())
			}
			if string(r.Body()) != c.body {
				t.Errorf("body %q, want %q", r.Body(), c.body)
			}
			if got := header(r, "Content-Encoding"); got != c.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, c.encoding)
			}
			if got := header(r, "Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if got := header(r, "Vary") == "Accept-Encoding"; got != c.vary {
				t.Errorf("Vary %q, want it %v", header(r, "Vary"), c.vary)
			}
			if strings.Contains(string(r.Body()), secret) {
				t.Error("served the file outside the root")
			}
		})
	}

	// Each encoding has its own ETag, and 304s and ranges follow the
	// representation served.
	tags := map[string]bool{}
	for _, accept := range []string{"br", "gzip", "identity"} {
		r := s.do(t, "GET", "/static/js/app.js", "Accept-Encoding: "+accept)
		tag := header(r, "ETag")
		tags[tag] = true
		nm := s.do(t, "GET", "/static/js/app.js", "Accept-Encoding: "+accept, "If-None-Match: "+tag)
		if nm.StatusCode() != 304 || header(nm, "Vary") != "Accept-Encoding" || header(nm, "ETag") != tag {
			t.Errorf("%s: 304 expected with Vary and ETag, got %d %q %q", accept, nm.StatusCode(), header(nm, "Vary"), header(nm, "ETag"))
		}
	}
	if len(tags) != 3 {
		t.Errorf("ETags per encoding not distinct: %v", tags)
	}
	r := s.do(t, "GET", "/static/js/app.js", "Accept-Encoding: br", "Range: bytes=0-6")
	if r.StatusCode() != 206 || string(r.Body()) != "BROTLI-" || header(r, "Content-Range") != "bytes 0-6/12" || header(r, "Content-Encoding") != "br" {
		t.Errorf("range of br: %d %q %q", r.StatusCode(), r.Body(), header(r, "Content-Range"))
	}
	r = s.do(t, "HEAD", "/static/js/app.js", "Accept-Encoding: gzip")
	if header(r, "Content-Length") != "17" || header(r, "Content-Encoding") != "gzip" {
		t.Errorf("HEAD gzip: Content-Length %q, Content-Encoding %q", header(r, "Content-Length"), header(r, "Content-Encoding"))
	}
}

func TestMedia(t *testing.T) {
	s, _ := staticServer(t)
	cases := []struct {
		method, path string
		status       int
		sandbox      bool
	}{
		{"GET", "/media/page.html", 200, true},
		{"GET", "/media/uploads/2024/report.html", 200, true},
		{"GET", "/media/image.svg", 200, true},
		{"GET", "/media/doc.xml", 200, true},
		{"GET", "/media/feed.rss", 200, true},
		{"HEAD", "/media/image.svg", 200, true},
		{"GET", "/media/photo.png", 200, false},
		{"GET", "/media/uploads/2024/report.pdf", 200, false},
		{"GET", "/media/missing.png", 404, false},
		{"GET", "/media/link-out.png", 404, false},
		{"GET", "/media/../outside/secret.txt", 404, false},
		{"GET", "/media/%zz", 400, false},
		{"POST", "/media/photo.png", 405, false},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := s.do(t, c.method, c.path)
			if r.StatusCode() != c.status {
				t.Fatalf("status %d, want %d", r.StatusCode(), c.status)
			}
			if header(r, "X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if got := header(r, "Content-Security-Policy") == "sandbox"; got != c.sandbox {
				t.Errorf("Content-Security-Policy %q, want sandbox %v", header(r, "Content-Security-Policy"), c.sandbox)
			}
		})
	}
	tag := header(s.do(t, "GET", "/media/photo.png"), "ETag")
	if r := s.do(t, "GET", "/media/photo.png", "If-None-Match: "+tag); r.StatusCode() != 304 || header(r, "X-Content-Type-Options") != "nosniff" {
		t.Errorf("media 304: %d, nosniff %q", r.StatusCode(), header(r, "X-Content-Type-Options"))
	}
	// Static files are not user content.
	r := s.do(t, "GET", "/static/dir/index.html")
	if header(r, "X-Content-Type-Options") != "" || header(r, "Content-Security-Policy") != "" {
		t.Errorf("static answer has media headers: %q %q", header(r, "X-Content-Type-Options"), header(r, "Content-Security-Policy"))
	}
}

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

func TestNew(t *testing.T) {
	tr := newTree(t)
	file := filepath.Join(tr.static, "app.css")
	missing := filepath.Join(tr.base, "nope")
	cases := []struct {
		name   string
		mount  Mount
		is     error
		phrase string
	}{
		{"missing static root", Mount{Prefix: "/static/", Root: missing}, fs.ErrNotExist, "STATIC_ROOT " + missing + " does not exist: run \"python manage.py collectstatic\""},
		{"missing media root", Mount{Prefix: "/media/", Root: missing, Media: true}, fs.ErrNotExist, "MEDIA_ROOT " + missing + " does not exist"},
		{"root is a file", Mount{Prefix: "/static/", Root: file}, ErrNotDir, "STATIC_ROOT " + file + " is not a directory"},
		{"empty root", Mount{Prefix: "/static/", Root: ""}, fs.ErrNotExist, "STATIC_ROOT"},
		{"prefix without trailing slash", Mount{Prefix: "/static", Root: tr.static}, nil, "check STATIC_URL"},
		{"prefix without leading slash", Mount{Prefix: "media/", Root: tr.media, Media: true}, nil, "check MEDIA_URL"},
		{"prefix is a URL", Mount{Prefix: "https://cdn.example.com/static/", Root: tr.static}, nil, "trailing slash"},
		{"root prefix", Mount{Prefix: "/", Root: tr.static}, nil, "prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := New([]Mount{c.mount}, quiet())
			if err == nil {
				t.Fatalf("New accepted it: %v", h)
			}
			if !strings.Contains(err.Error(), c.phrase) {
				t.Errorf("error %q does not say %q", err, c.phrase)
			}
			if c.is != nil {
				var re *RootError
				if !errors.Is(err, c.is) || !errors.As(err, &re) {
					t.Errorf("error %v is not a *RootError wrapping %v", err, c.is)
				}
			}
		})
	}
	if _, err := New([]Mount{{Prefix: "/s/", Root: tr.static}, {Prefix: "/s/", Root: tr.media}}, quiet()); err == nil {
		t.Error("New accepted one prefix twice")
	}
	// With finders, a missing root is fine (DEBUG=True before collectstatic).
	if _, err := New([]Mount{{Prefix: "/static/", Root: missing, Finder: finderFunc(nil)}}, quiet()); err != nil {
		t.Errorf("missing root with a finder: %v", err)
	}
	if _, err := New([]Mount{{Prefix: "/static/", Finder: finderFunc(nil)}}, quiet()); err != nil {
		t.Errorf("no root with a finder: %v", err)
	}
}

func TestLongestPrefix(t *testing.T) {
	tr := newTree(t)
	s := newServer(t,
		Mount{Prefix: "/static/", Root: tr.static},
		Mount{Prefix: "/static/uploads/", Root: tr.media, Media: true},
	)
	if r := s.do(t, "GET", "/static/uploads/photo.png"); r.StatusCode() != 200 || header(r, "X-Content-Type-Options") != "nosniff" {
		t.Errorf("nested mount: %d", r.StatusCode())
	}
	if r := s.do(t, "GET", "/static/app.css"); r.StatusCode() != 200 {
		t.Errorf("outer mount: %d", r.StatusCode())
	}
}

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

func TestLargeFile(t *testing.T) {
	tr := newTree(t)
	body := make([]byte, 3<<20+17)
	for i := range body {
		body[i] = byte(i * 7)
	}
	must(t, os.WriteFile(filepath.Join(tr.static, "big.bin"), body, 0o644))
	s := newServer(t, Mount{Prefix: "/static/", Root: tr.static})
	r := s.do(t, "GET", "/static/big.bin")
	if r.StatusCode() != 200 || string(r.Body()) != string(body) {
		t.Fatalf("big file: %d, %d bytes", r.StatusCode(), len(r.Body()))
	}
	r = s.do(t, "GET", "/static/big.bin", "Range: bytes=1000000-1000099")
	if r.StatusCode() != 206 || string(r.Body()) != string(body[1000000:1000100]) {
		t.Fatalf("big file range: %d, %d bytes", r.StatusCode(), len(r.Body()))
	}
}
