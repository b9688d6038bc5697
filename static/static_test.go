package static

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
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
		{"prefix is a URL", Mount{Prefix: "https://cdn.example.com/static/", Root: tr.static}, nil, "starts and ends with"},
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

// TestSendfileKeepAlive runs over real TCP, where fasthttp hands the open
// file to sendfile: ranges start at the file's offset and stop at their
// length, leaving the next answer on the same connection intact.
func TestSendfileKeepAlive(t *testing.T) {
	tr := newTree(t)
	body := make([]byte, 3<<20)
	for i := range body {
		body[i] = byte(i % 251)
	}
	must(t, os.WriteFile(filepath.Join(tr.static, "big.bin"), body, 0o644))
	h, err := New([]Mount{{Prefix: "/static/", Root: tr.static}}, quiet())
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { h.Handle(ctx) }, Logger: discardLogger{}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown()
		<-done
	}()

	c := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1}
	cases := []struct {
		rng        string
		start, end int // inclusive
	}{
		{"bytes=1000000-2999999", 1000000, 2999999},
		{"", 0, len(body) - 1},
		{"bytes=-70000", len(body) - 70000, len(body) - 1},
		{"bytes=5-9", 5, 9},
		{"", 0, len(body) - 1},
	}
	for _, cs := range cases {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + ln.Addr().String() + "/static/big.bin")
		if cs.rng != "" {
			req.Header.Set("Range", cs.rng)
		}
		must(t, c.Do(req, resp))
		if !bytes.Equal(resp.Body(), body[cs.start:cs.end+1]) {
			t.Errorf("%q: status %d, %d bytes, want bytes %d-%d", cs.rng, resp.StatusCode(), len(resp.Body()), cs.start, cs.end)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
}
