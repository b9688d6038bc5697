package static

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// secret is the content of files planted outside the roots; no answer may
// ever contain it.
const secret = "TOP-SECRET-OUTSIDE-THE-ROOT"

// tree is a STATIC_ROOT and MEDIA_ROOT with neighbours they must not leak.
type tree struct {
	base, static, media, outside string
	mtime                        time.Time
}

// newTree plants the files the tests and the fuzzer use.
func newTree(tb testing.TB) *tree {
	tb.Helper()
	base := tb.TempDir()
	tr := &tree{
		base:    base,
		static:  filepath.Join(base, "static"),
		media:   filepath.Join(base, "media"),
		outside: filepath.Join(base, "outside"),
		mtime:   time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
	}
	files := map[string]string{
		"outside/secret.txt":             secret,
		"outside/secret.css":             secret,
		"static/app.css":                 "body{color:red}\n",
		"static/app.3f2a9b1c4d5e.css":    "body{color:blue}\n",
		"static/0123456789.txt":          "0123456789",
		"static/data.unknownext":         "???",
		"static/noext":                   "plain",
		"static/empty.txt":               "",
		"static/caf\u00e9.txt":           "accent",
		"static/with space.txt":          "space",
		"static/dir/index.html":          "<p>index</p>",
		"static/js/app.js":               "console.log('plain');\n",
		"static/js/app.js.br":            "BROTLI-BYTES",
		"static/js/app.js.gz":            "GZIP-BYTES-LONGER",
		"static/only-gz.css":             "only gz plain",
		"static/only-gz.css.gz":          "only gz gzip",
		"static/plain.txt.gz":            "a gzip file asked for by name",
		"static/plain.txt":               "plain text",
		"static/dirtwin.css":             "twin is a directory",
		"static/dirtwin.css.br/x":        "",
		"static/outtwin.css":             "twin links out",
		"static/sub/deep/file.json":      `{"deep":true}`,
		"media/page.html":                "<script>alert(1)</script>",
		"media/image.svg":                "<svg xmlns='http://www.w3.org/2000/svg'/>",
		"media/doc.xml":                  "<doc/>",
		"media/feed.rss":                 "<rss/>",
		"media/photo.png":                "PNG",
		"media/photo.3f2a9b1c4d5e.png":   "PNG hashed-looking upload",
		"media/uploads/2024/report.pdf":  "%PDF-1.7",
		"media/uploads/2024/report.html": "<html></html>",
	}
	for name, body := range files {
		p := filepath.Join(base, filepath.FromSlash(name))
		must(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		must(tb, os.WriteFile(p, []byte(body), 0o644))
		must(tb, os.Chtimes(p, tr.mtime, tr.mtime))
	}
	links := map[string]string{
		"static/link-in.css":    "app.css",
		"static/sub/link-up.js": "../js/app.js",
		"static/linkdir-in":     "js",
		"static/sublink":        "sub",
		"static/link-out.txt":   "../outside/secret.txt",
		"static/link-abs.txt":   filepath.Join(tr.outside, "secret.txt"),
		"static/linkdir-out":    "../outside",
		"static/link-dev":       "/dev/null",
		"static/link-loop":      "link-loop",
		"static/outtwin.css.br": "../outside/secret.css",
		"media/link-out.png":    "../outside/secret.txt",
	}
	for name, target := range links {
		must(tb, os.Symlink(target, filepath.Join(base, filepath.FromSlash(name))))
	}
	must(tb, syscall.Mkfifo(filepath.Join(tr.static, "fifo"), 0o644))
	return tr
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// quiet is a logger for tests; -v shows nothing either, the tests check
// answers, not logs.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// server runs a Handler on an in-memory listener behind a fallback that
// stands for Django.
type server struct {
	h  *Handler
	ln *fasthttputil.InmemoryListener
}

// djangoStatus marks answers that Handle left to the next handler.
const djangoStatus = 299

func newServer(tb testing.TB, mounts ...Mount) *server {
	tb.Helper()
	h, err := New(mounts, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	return serveHandler(tb, h)
}

func serveHandler(tb testing.TB, h *Handler) *server {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !h.Handle(ctx) {
				ctx.SetStatusCode(djangoStatus)
				ctx.SetBodyString("django")
			}
		},
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadBufferSize:        64 << 10, // as serve: long paths reach the handler
		Logger:                discardLogger{},
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		_ = srv.Shutdown()
		_ = ln.Close()
		<-done
	})
	return &server{h: h, ln: ln}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// do sends one raw request, target exactly as given, and reads the answer.
// Headers are "Name: value" strings.
func (s *server) do(tb testing.TB, method, target string, headers ...string) *fasthttp.Response {
	tb.Helper()
	conn, err := s.ln.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: example.com\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		tb.Fatal(err)
	}
	resp := &fasthttp.Response{}
	resp.SkipBody = method == "HEAD"
	resp.Header.SetNoDefaultContentType(true)
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		tb.Fatalf("%s %q: read response: %v", method, target, err)
	}
	return resp
}

func header(r *fasthttp.Response, name string) string {
	return string(r.Header.Peek(name))
}
