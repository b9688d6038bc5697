package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Static and media files served by Go (SPEC §2), through the real binary:
// "hurricane serve --static --media" on a STATIC_ROOT filled by the demo's
// collectstatic and a MEDIA_ROOT of the test's own (the settings module
// testdata/e2esite/files.py reads it from E2E_MEDIA_ROOT).

// fileSentinel is the content of files placed outside the roots, next to
// them and above them: no answer may ever contain it.
const fileSentinel = "HURRICANE-E2E-SENTINEL: this file is outside every root"

// fileSite is a fresh directory laid out so that traversal has something to
// find:
//
//	dir/secret.txt          sentinel, two levels above the static root
//	dir/site/manage.py      sentinel, the static root's parent
//	dir/site/static/        STATIC_ROOT, filled by collectstatic
//	dir/site/media/         MEDIA_ROOT
type fileSite struct {
	dir, static, media string
}

func newFileSite(t *testing.T) *fileSite {
	t.Helper()
	dir := t.TempDir()
	st := &fileSite{
		dir:    dir,
		static: filepath.Join(dir, "site", "static"),
		media:  filepath.Join(dir, "site", "media"),
	}
	for _, d := range []string{st.static, st.media} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "secret.txt"), []byte(fileSentinel))
	writeFile(t, filepath.Join(dir, "site", "manage.py"), []byte(fileSentinel))
	collectStatic(t, st.static)
	return st
}

// env points the demo's STATIC_ROOT and the test settings' MEDIA_ROOT at
// the site.
func (st *fileSite) env() []string {
	return []string{"DEMO_STATIC_ROOT=" + st.static, "E2E_MEDIA_ROOT=" + st.media}
}

// collectStatic runs the demo's collectstatic into root.
func collectStatic(t *testing.T, root string) {
	t.Helper()
	start := time.Now()
	out, err := manage(2*time.Minute, []string{"DEMO_STATIC_ROOT=" + root}, "collectstatic", "--noinput")
	if err != nil {
		t.Fatalf("manage.py collectstatic: %v\n%s", err, out)
	}
	t.Logf("collectstatic into %s took %s", root, time.Since(start).Round(time.Millisecond))
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fileReq sends method to url with headers given as name, value pairs.
func fileReq(t *testing.T, c *http.Client, method, url string, headers ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, c, req)
}

// wantHeader checks that a response header has exactly one value, want
// ("" : the header is absent).
func wantHeader(t *testing.T, r result, name, want string) {
	t.Helper()
	got := r.resp.Header.Values(name)
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("%s %s: %s %q, want none", r.resp.Request.Method, r.resp.Request.URL.Path, name, got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("%s %s: %s %q, want %q", r.resp.Request.Method, r.resp.Request.URL.Path, name, got, want)
	}
}

func wantBody(t *testing.T, r result, want []byte) {
	t.Helper()
	if !bytes.Equal(r.body, want) {
		t.Errorf("%s %s: body of %d bytes %q, want %d bytes %q", r.resp.Request.Method, r.resp.Request.URL.Path,
			len(r.body), clip(r.body), len(want), clip(want))
	}
}

// The Cache-Control values static/doc.go documents.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=60"
	cacheFinder    = "no-cache"
)

func TestStaticFiles(t *testing.T) {
	requirePython(t)
	st := newFileSite(t)
	// One worker thread, so a request that holds it proves static files
	// need none (NeverPython).
	args := append(siteArgs(t, "files"), "--static", "--media", "--processes", "1", "--workers", "1")
	s := startLC(t, serverConfig{env: st.env()}, args...)
	c := newClient()

	basePath := filepath.Join(st.static, "admin", "css", "base.css")
	baseCSS := readFile(t, basePath)
	baseFi, err := os.Stat(basePath)
	if err != nil {
		t.Fatal(err)
	}
	baseURL := s.url("/static/admin/css/base.css")

	t.Run("Headers", func(t *testing.T) {
		r := get(t, c, baseURL)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, baseCSS)
		wantHeader(t, r, "Content-Type", "text/css; charset=utf-8")
		wantHeader(t, r, "Content-Length", fmt.Sprint(len(baseCSS)))
		wantHeader(t, r, "Cache-Control", cacheShort)
		wantHeader(t, r, "Last-Modified", baseFi.ModTime().UTC().Format(http.TimeFormat))
		wantHeader(t, r, "Accept-Ranges", "bytes")
		wantHeader(t, r, "Content-Encoding", "")
		wantHeader(t, r, "Vary", "") // no .br or .gz sibling
		wantHeader(t, r, "Content-Security-Policy", "")
		if tag := r.resp.Header.Get("ETag"); len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			t.Errorf("ETag %q, want a strong entity tag", tag)
		}
		if again := get(t, c, baseURL); again.resp.Header.Get("ETag") != r.resp.Header.Get("ETag") {
			t.Errorf("ETag changed between two requests for an unchanged file: %q, then %q",
				r.resp.Header.Get("ETag"), again.resp.Header.Get("ETag"))
		}
		if id := r.resp.Header.Get("X-Request-ID"); !hex32.MatchString(id) {
			t.Errorf("X-Request-ID %q, want a generated id of 32 hex digits", id)
		}
		// A query string (cache busting) names the same file.
		q := get(t, c, baseURL+"?v=3")
		wantStatus(t, q, http.StatusOK)
		wantBody(t, q, baseCSS)
		// Content types come from the embedded table.
		for path, ctype := range map[string]string{
			"/static/admin/js/core.js":            "text/javascript; charset=utf-8",
			"/static/admin/img/search.svg":        "image/svg+xml",
			"/static/admin/img/inline-delete.svg": "image/svg+xml",
		} {
			r := get(t, c, s.url(path))
			wantStatus(t, r, http.StatusOK)
			wantHeader(t, r, "Content-Type", ctype)
		}
	})

	t.Run("Hashed", func(t *testing.T) {
		hashed := []byte(".hashed { color: red }\n")
		writeFile(t, filepath.Join(st.static, "app.0123456789ab.css"), hashed)
		writeFile(t, filepath.Join(st.static, "app.css"), hashed)
		writeFile(t, filepath.Join(st.media, "upload.0123456789ab.css"), hashed)
		r := get(t, c, s.url("/static/app.0123456789ab.css"))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, hashed)
		wantHeader(t, r, "Cache-Control", cacheImmutable)
		wantHeader(t, r, "Content-Type", "text/css; charset=utf-8")
		r = get(t, c, s.url("/static/app.css"))
		wantStatus(t, r, http.StatusOK)
		wantHeader(t, r, "Cache-Control", cacheShort)
		// An upload can be replaced under the same name: never immutable.
		r = get(t, c, s.url("/media/upload.0123456789ab.css"))
		wantStatus(t, r, http.StatusOK)
		wantHeader(t, r, "Cache-Control", cacheShort)
	})

	t.Run("Conditional", func(t *testing.T) {
		first := get(t, c, baseURL)
		wantStatus(t, first, http.StatusOK)
		tag, lm := first.resp.Header.Get("ETag"), first.resp.Header.Get("Last-Modified")
		for _, tc := range []struct {
			name    string
			headers []string
			want    int
		}{
			{"If-None-Match", []string{"If-None-Match", tag}, http.StatusNotModified},
			{"If-None-Match weak", []string{"If-None-Match", "W/" + tag}, http.StatusNotModified},
			{"If-None-Match list", []string{"If-None-Match", `"nope", ` + tag}, http.StatusNotModified},
			{"If-None-Match star", []string{"If-None-Match", "*"}, http.StatusNotModified},
			{"If-None-Match other", []string{"If-None-Match", `"nope"`}, http.StatusOK},
			{"If-Modified-Since", []string{"If-Modified-Since", lm}, http.StatusNotModified},
			{"If-Modified-Since earlier", []string{"If-Modified-Since", baseFi.ModTime().Add(-time.Hour).UTC().Format(http.TimeFormat)}, http.StatusOK},
			// If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
			{"If-None-Match other, If-Modified-Since", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lm}, http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := fileReq(t, c, http.MethodGet, baseURL, tc.headers...)
				wantStatus(t, r, tc.want)
				if tc.want == http.StatusNotModified {
					wantBody(t, r, nil)
					wantHeader(t, r, "ETag", tag)
					wantHeader(t, r, "Cache-Control", cacheShort)
				} else {
					wantBody(t, r, baseCSS)
				}
			})
		}
	})

	t.Run("Range", func(t *testing.T) {
		size := len(baseCSS)
		tag := get(t, c, baseURL).resp.Header.Get("ETag")
		for _, tc := range []struct {
			name    string
			headers []string
			from    int // expected bytes [from, to)
			to      int
		}{
			{"first 100", []string{"Range", "bytes=0-99"}, 0, 100},
			{"middle", []string{"Range", "bytes=1000-1999"}, 1000, 2000},
			{"open end", []string{"Range", fmt.Sprintf("bytes=%d-", size-10)}, size - 10, size},
			{"suffix", []string{"Range", "bytes=-25"}, size - 25, size},
			{"past the end clipped", []string{"Range", fmt.Sprintf("bytes=%d-%d", size-5, size+100)}, size - 5, size},
			{"If-Range current", []string{"Range", "bytes=0-9", "If-Range", tag}, 0, 10},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := fileReq(t, c, http.MethodGet, baseURL, tc.headers...)
				wantStatus(t, r, http.StatusPartialContent)
				wantBody(t, r, baseCSS[tc.from:tc.to])
				wantHeader(t, r, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to-1, size))
				wantHeader(t, r, "Content-Length", fmt.Sprint(tc.to-tc.from))
				wantHeader(t, r, "Content-Type", "text/css; charset=utf-8")
			})
		}
		t.Run("If-Range stale", func(t *testing.T) {
			r := fileReq(t, c, http.MethodGet, baseURL, "Range", "bytes=0-9", "If-Range", `"stale"`)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, baseCSS)
		})
		for _, spec := range []string{fmt.Sprintf("bytes=%d-", size), fmt.Sprintf("bytes=%d-%d", size+10, size+20), "bytes=-0"} {
			t.Run("416 "+spec, func(t *testing.T) {
				r := fileReq(t, c, http.MethodGet, baseURL, "Range", spec)
				wantStatus(t, r, http.StatusRequestedRangeNotSatisfiable)
				wantHeader(t, r, "Content-Range", fmt.Sprintf("bytes */%d", size))
				if bytes.Contains(r.body, baseCSS[:100]) {
					t.Errorf("416 answer carries the file")
				}
			})
		}
	})

	t.Run("Head", func(t *testing.T) {
		getR := get(t, c, baseURL)
		next := []byte("the answer after the HEAD\n")
		writeFile(t, filepath.Join(st.static, "after-head.txt"), next)
		// Over one raw connection: a HEAD answer with a body would be read
		// as the start of the next answer.
		conn := dialRaw(t, s)
		conn.send(t, "HEAD /static/admin/css/base.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"+
			rawGet("/static/after-head.txt", "127.0.0.1"))
		head := conn.read(t, http.MethodHead)
		wantStatus(t, head, http.StatusOK)
		wantBody(t, head, nil)
		wantHeader(t, head, "Content-Length", fmt.Sprint(len(baseCSS)))
		wantHeader(t, head, "Content-Type", "text/css; charset=utf-8")
		for _, h := range []string{"ETag", "Last-Modified", "Cache-Control"} {
			wantHeader(t, head, h, getR.resp.Header.Get(h))
		}
		after := conn.read(t, http.MethodGet)
		wantStatus(t, after, http.StatusOK)
		wantBody(t, after, next)
	})

	t.Run("Precompressed", func(t *testing.T) {
		plain := []byte("console.log('plain');\n")
		br := []byte("pretend brotli bytes")
		gz := []byte("pretend gzip bytes")
		writeFile(t, filepath.Join(st.static, "js", "comp.js"), plain)
		writeFile(t, filepath.Join(st.static, "js", "comp.js.br"), br)
		writeFile(t, filepath.Join(st.static, "js", "comp.js.gz"), gz)
		writeFile(t, filepath.Join(st.static, "js", "gzonly.js"), plain)
		writeFile(t, filepath.Join(st.static, "js", "gzonly.js.gz"), gz)
		tags := map[string]string{}
		for _, tc := range []struct {
			path, accept string
			body         []byte
			encoding     string
		}{
			{"comp.js", "", plain, ""},
			{"comp.js", "identity", plain, ""},
			{"comp.js", "gzip", gz, "gzip"},
			{"comp.js", "br", br, "br"},
			{"comp.js", "gzip, deflate, br, zstd", br, "br"},
			{"comp.js", "br;q=0.5, gzip", gz, "gzip"},
			{"comp.js", "br;q=0, gzip;q=0", plain, ""},
			{"comp.js", "*", br, "br"},
			{"gzonly.js", "br, gzip", gz, "gzip"},
			{"gzonly.js", "br", plain, ""},
		} {
			t.Run(tc.path+" "+tc.accept, func(t *testing.T) {
				r := fileReq(t, c, http.MethodGet, s.url("/static/js/"+tc.path), "Accept-Encoding", tc.accept)
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, tc.body)
				wantHeader(t, r, "Content-Encoding", tc.encoding)
				wantHeader(t, r, "Vary", "Accept-Encoding")
				wantHeader(t, r, "Content-Type", "text/javascript; charset=utf-8")
				tag := r.resp.Header.Get("ETag")
				if prev, ok := tags[tc.path+"|"+tc.encoding]; ok && prev != tag {
					t.Errorf("ETag %q, earlier %q for the same representation", tag, prev)
				}
				tags[tc.path+"|"+tc.encoding] = tag
				for k, other := range tags {
					if other == tag && k != tc.path+"|"+tc.encoding && strings.HasPrefix(k, tc.path+"|") {
						t.Errorf("ETag %q is also the tag of %s: each representation needs its own", tag, k)
					}
				}
				// A 304 answers the representation the client would get.
				nm := fileReq(t, c, http.MethodGet, s.url("/static/js/"+tc.path), "Accept-Encoding", tc.accept, "If-None-Match", tag)
				wantStatus(t, nm, http.StatusNotModified)
				wantHeader(t, nm, "Vary", "Accept-Encoding")
			})
		}
		// A compressed file asked for by name is itself, not encoded.
		r := fileReq(t, c, http.MethodGet, s.url("/static/js/comp.js.gz"), "Accept-Encoding", "gzip, br")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, gz)
		wantHeader(t, r, "Content-Encoding", "")
		wantHeader(t, r, "Content-Type", "application/gzip")
	})

	t.Run("AddedAfterStartup", func(t *testing.T) {
		// Each change must show within a second of being made; the 404
		// first proves no negative answer is kept.
		fresh := func(t *testing.T, rel string, content []byte, before int) {
			t.Helper()
			url := s.url("/static/" + rel)
			if r := get(t, c, url); r.resp.StatusCode != before {
				t.Fatalf("before the change: GET %s answered %d, want %d", rel, r.resp.StatusCode, before)
			}
			writeFile(t, filepath.Join(st.static, filepath.FromSlash(rel)), content)
			changed := time.Now()
			for {
				r := get(t, c, url)
				if r.resp.StatusCode == http.StatusOK && bytes.Equal(r.body, content) {
					t.Logf("%s served fresh %s after the change", rel, time.Since(changed).Round(time.Microsecond))
					return
				}
				if time.Since(changed) > time.Second {
					t.Fatalf("%s: still %d %q one second after the change, want 200 %q", rel, r.resp.StatusCode, clip(r.body), content)
				}
				time.Sleep(20 * time.Millisecond) // polling interval
			}
		}
		fresh(t, "late.txt", []byte("added after startup\n"), http.StatusNotFound)
		fresh(t, "newdir/deeper/late.css", []byte("body { color: blue }\n"), http.StatusNotFound)
		old := get(t, c, s.url("/static/late.txt"))
		fresh(t, "late.txt", []byte("changed after startup, and longer\n"), http.StatusOK)
		r := fileReq(t, c, http.MethodGet, s.url("/static/late.txt"), "If-None-Match", old.resp.Header.Get("ETag"))
		wantStatus(t, r, http.StatusOK) // the old tag no longer matches
		if err := os.Remove(filepath.Join(st.static, "late.txt")); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, get(t, c, s.url("/static/late.txt")), http.StatusNotFound)
	})

	t.Run("Traversal", func(t *testing.T) {
		// Symlinks: within the root they are followed, out of it never.
		mustSymlink(t, filepath.Join(st.static, "admin", "css", "base.css"), filepath.Join(st.static, "in-link.css"))
		mustSymlink(t, filepath.Join(st.dir, "site", "manage.py"), filepath.Join(st.static, "out-link.py"))
		mustSymlink(t, filepath.Join(st.dir, "site"), filepath.Join(st.static, "out-dir"))
		mustSymlink(t, "../manage.py", filepath.Join(st.static, "rel-out.py"))
		r := get(t, c, s.url("/static/in-link.css"))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, baseCSS)

		paths := []string{
			"/static/../manage.py",
			"/static/../../secret.txt",
			"/static/%2e%2e/manage.py",
			"/static/%2E%2E/manage.py",
			"/static/.%2e/manage.py",
			"/static/%2e%2e/%2e%2e/secret.txt",
			"/static/..%2fmanage.py",
			"/static/..%2Fmanage.py",
			"/static/%2e%2e%2fmanage.py",
			"/static/admin/../../manage.py",
			"/static/admin/%2e%2e/%2e%2e/manage.py",
			"/static/admin/css/..%2f..%2f..%2fmanage.py",
			"/static/%252e%252e/manage.py",
			"/static/%252e%252e%252fmanage.py",
			"/static/%252e%252e/%252e%252e/secret.txt",
			`/static/..\manage.py`,
			`/static/..\..\secret.txt`,
			"/static/..%5cmanage.py",
			"/static/..%5Cmanage.py",
			"/static/%5c..%5cmanage.py",
			"/static/manage.py%00",
			"/static/..%00/manage.py",
			"/static/%00../manage.py",
			"/static/admin/css/base.css%00.txt",
			"/static//etc/passwd",
			"/static/%2fetc%2fpasswd",
			"/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
			"/static/C:/etc/passwd",
			"/static/out-link.py",
			"/static/rel-out.py",
			"/static/out-dir/manage.py",
			"/static/admin/",
			"/static/admin",
			"/static/",
			"/static/.",
			"/media/../manage.py",
			"/media/%2e%2e/manage.py",
			"/media/..%2fstatic/admin/css/base.css",
		}
		for _, p := range paths {
			t.Run(p, func(t *testing.T) {
				conn := dialRaw(t, s)
				conn.send(t, rawGet(p, "127.0.0.1"))
				r := conn.read(t, http.MethodGet)
				if r.resp.StatusCode != http.StatusNotFound && r.resp.StatusCode != http.StatusBadRequest {
					t.Errorf("GET %s: status %d, want 404 or 400; body %q", p, r.resp.StatusCode, clip(r.body))
				}
				for _, leak := range [][]byte{[]byte(fileSentinel), []byte("root:x:0:0"), baseCSS[:200]} {
					if bytes.Contains(r.body, leak) {
						t.Errorf("GET %s: the answer carries a file's content %q", p, clip(r.body))
					}
				}
			})
		}
		// The server is unharmed.
		wantStatus(t, get(t, c, baseURL), http.StatusOK)
	})

	t.Run("Methods", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			for _, path := range []string{"/static/admin/css/base.css", "/static/missing.css", "/media/note.txt"} {
				t.Run(m+" "+path, func(t *testing.T) {
					req, _ := http.NewRequest(m, s.url(path), strings.NewReader("a=1"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r := do(t, c, req)
					wantStatus(t, r, http.StatusMethodNotAllowed)
					wantHeader(t, r, "Allow", "GET, HEAD")
					if bytes.Contains(r.body, baseCSS[:100]) {
						t.Errorf("405 answer carries the file")
					}
				})
			}
		}
	})

	t.Run("Media", func(t *testing.T) {
		files := []struct {
			name, ctype string
			content     string
			sandbox     bool
		}{
			{"note.txt", "text/plain; charset=utf-8", "just text <script>alert(1)</script>\n", false},
			{"page.html", "text/html; charset=utf-8", "<!doctype html><script>alert(document.cookie)</script>\n", true},
			{"uploads/image.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, true},
			{"data.xml", "text/xml; charset=utf-8", `<?xml version="1.0"?><a/>`, true},
			{"photo.png", "image/png", "\x89PNG\r\n\x1a\n not really", false},
		}
		for _, f := range files {
			writeFile(t, filepath.Join(st.media, filepath.FromSlash(f.name)), []byte(f.content))
		}
		for _, f := range files {
			t.Run(f.name, func(t *testing.T) {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					r := fileReq(t, c, method, s.url("/media/"+f.name))
					wantStatus(t, r, http.StatusOK)
					if method == http.MethodGet {
						wantBody(t, r, []byte(f.content))
					}
					wantHeader(t, r, "Content-Type", f.ctype)
					wantHeader(t, r, "X-Content-Type-Options", "nosniff")
					csp := ""
					if f.sandbox {
						csp = "sandbox"
					}
					wantHeader(t, r, "Content-Security-Policy", csp)
					wantHeader(t, r, "Cache-Control", cacheShort)
				}
				// The 304 and 206 answers keep nosniff.
				tag := get(t, c, s.url("/media/"+f.name)).resp.Header.Get("ETag")
				r := fileReq(t, c, http.MethodGet, s.url("/media/"+f.name), "If-None-Match", tag)
				wantStatus(t, r, http.StatusNotModified)
				wantHeader(t, r, "X-Content-Type-Options", "nosniff")
				r = fileReq(t, c, http.MethodGet, s.url("/media/"+f.name), "Range", "bytes=0-3")
				wantStatus(t, r, http.StatusPartialContent)
				wantHeader(t, r, "X-Content-Type-Options", "nosniff")
				if f.sandbox {
					wantHeader(t, r, "Content-Security-Policy", "sandbox")
				}
			})
		}
		r := get(t, c, s.url("/media/missing.html"))
		wantStatus(t, r, http.StatusNotFound)
		wantHeader(t, r, "X-Content-Type-Options", "nosniff")
	})

	t.Run("NeverPython", func(t *testing.T) {
		// Hold the only worker thread with a slow view; static and media
		// files must still be answered at once.
		hello := get(t, c, s.url("/hello"))
		wantStatus(t, hello, http.StatusOK)
		pid := onlyWorkerPID(t, s)
		slow := make(chan outcome, 1)
		go func() { slow <- fetch(newClient(), s.url("/sleep?ms=4000")) }()
		waitSleeping(t, pid, 1, 10*time.Second)
		for _, path := range []string{"/static/admin/css/base.css", "/media/note.txt", "/static/missing.css", "/static/../manage.py"} {
			start := time.Now()
			r := get(t, c, s.url(path))
			took := time.Since(start)
			if r.resp.StatusCode >= 500 {
				t.Errorf("GET %s while the worker is busy: status %d", path, r.resp.StatusCode)
			}
			if took > time.Second {
				t.Errorf("GET %s took %s while the only worker thread was busy: it waited for Python", path, took)
			}
		}
		select {
		case o := <-slow:
			t.Fatalf("the slow request ended before the static requests were checked (%d %v): the check proves nothing", o.status, o.err)
		default:
		}
		if o := <-slow; o.err != nil || o.status != http.StatusOK {
			t.Errorf("slow request: status %d, error %v", o.status, o.err)
		}

		// Every access log line of a file request says no worker answered
		// it; the app's own requests name theirs.
		waitLog(t, s, 5*time.Second, "for the slow request", func(r record) bool {
			return r.str("msg") == "request" && strings.HasPrefix(r.str("path"), "/sleep")
		})
		files, app := 0, 0
		for _, rec := range s.logs.find(msgIs("request")) {
			w, ok := rec.num("worker")
			if !ok {
				t.Errorf("access log record without a worker: %v", rec)
				continue
			}
			path := rec.str("path")
			switch {
			case strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/media/"):
				files++
				if w != -1 {
					t.Errorf("a file request reached worker %v: %v", w, rec)
				}
			case path == "/hello" || strings.HasPrefix(path, "/sleep"):
				app++
				if w < 0 {
					t.Errorf("an app request has worker %v: %v", w, rec)
				}
			}
		}
		if files < 50 || app < 2 {
			t.Errorf("found %d file and %d app requests in the access log; the test sent far more", files, app)
		}
		// The bytes logged for a file are the bytes sent.
		rec := waitLog(t, s, 5*time.Second, "for a 200 on base.css", func(r record) bool {
			st, _ := r.num("status")
			return r.str("path") == "/static/admin/css/base.css" && r.str("method") == "GET" && st == 200
		})
		if n, _ := rec.num("bytes"); int(n) != len(baseCSS) {
			t.Errorf("access log bytes %v for base.css, want %d: %v", n, len(baseCSS), rec)
		}
	})
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestStaticRootSwitch: a STATIC_ROOT that is a symlink to a release
// directory may be switched to the next release without a restart.
func TestStaticRootSwitch(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	r1, r2 := filepath.Join(dir, "release1"), filepath.Join(dir, "release2")
	writeFile(t, filepath.Join(r1, "app.css"), []byte("release 1\n"))
	writeFile(t, filepath.Join(r2, "app.css"), []byte("release 2, longer\n"))
	link := filepath.Join(dir, "current")
	mustSymlink(t, r1, link)
	s := startLC(t, serverConfig{env: []string{"DEMO_STATIC_ROOT=" + link}}, "--static")
	c := newClient()
	r := get(t, c, s.url("/static/app.css"))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, []byte("release 1\n"))

	tmp := filepath.Join(dir, "next")
	mustSymlink(t, r2, tmp)
	if err := os.Rename(tmp, link); err != nil { // atomic switch
		t.Fatal(err)
	}
	switched := time.Now()
	// The root's symlink is re-resolved once a second (static/doc.go).
	const limit = 1500 * time.Millisecond
	for {
		r := get(t, c, s.url("/static/app.css"))
		if r.resp.StatusCode == http.StatusOK && string(r.body) == "release 2, longer\n" {
			t.Logf("the new release was served %s after the switch", time.Since(switched).Round(time.Millisecond))
			break
		}
		if time.Since(switched) > limit {
			t.Fatalf("still %d %q %s after switching the root", r.resp.StatusCode, r.body, limit)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// TestStaticStartupErrors: a flag whose root is missing stops startup with
// exit 1 and a message naming the setting.
func TestStaticStartupErrors(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	writeFile(t, aFile, []byte("not a directory"))
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		setting string
		path    string
	}{
		{"static missing", []string{"DEMO_STATIC_ROOT=" + missing}, []string{"--static"}, "STATIC_ROOT", missing},
		{"static not a directory", []string{"DEMO_STATIC_ROOT=" + aFile}, []string{"--static"}, "STATIC_ROOT", aFile},
		{"media missing", []string{"E2E_MEDIA_ROOT=" + missing}, append(siteArgs(t, "files"), "--media"), "MEDIA_ROOT", missing},
		{"media not a directory", []string{"E2E_MEDIA_ROOT=" + aFile}, append(siteArgs(t, "files"), "--media"), "MEDIA_ROOT", aFile},
		// Both flags, only the media root missing: still an error.
		{"static fine, media missing", []string{"DEMO_STATIC_ROOT=" + dir, "E2E_MEDIA_ROOT=" + missing},
			append(siteArgs(t, "files"), "--static", "--media"), "MEDIA_ROOT", missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLC(t, serverConfig{env: tc.env, wait: waitNone}, tc.args...)
			took := s.waitExit(t, 60*time.Second)
			if code := s.exitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, tc.setting) || !strings.Contains(logs, tc.path) {
				t.Errorf("the output does not name %s and %s:\n%s", tc.setting, tc.path, s.logs.tail(20))
			}
			if rs := s.logs.find(msgIs("starting workers")); len(rs) > 0 {
				t.Errorf("serving workers were started before the error: %v", rs[0])
			}
			t.Logf("exited after %s", took.Round(time.Millisecond))
		})
	}
}

// djangoAdminStatic is django.contrib.admin's static directory in the test
// Python.
var djangoAdminStatic = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(pythonPath, "-c",
		"import os, django.contrib.admin as a; print(os.path.join(os.path.dirname(a.__file__), 'static'))").Output()
	if err != nil {
		return "", fmt.Errorf("finding django.contrib.admin's static directory: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// TestStaticDebugFinders: with DEBUG=True and django.contrib.staticfiles,
// --static serves through Django's finders as runserver does: no
// collectstatic needed, STATIC_ROOT need not exist, and what it holds is
// not what is served.
func TestStaticDebugFinders(t *testing.T) {
	requirePython(t)
	adminStatic, err := djangoAdminStatic()
	if err != nil {
		t.Fatal(err)
	}
	want := readFile(t, filepath.Join(adminStatic, "admin", "css", "base.css"))

	for _, tc := range []struct {
		name string
		root func(t *testing.T) string
	}{
		{"no STATIC_ROOT", func(t *testing.T) string { return filepath.Join(t.TempDir(), "never-collected") }},
		{"stale STATIC_ROOT", func(t *testing.T) string {
			// runserver ignores STATIC_ROOT: an old collectstatic there must
			// not shadow the app's current file.
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "admin", "css", "base.css"), []byte("/* stale */"))
			writeFile(t, filepath.Join(root, "only-collected.css"), []byte("/* collected only */"))
			return root
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root(t)
			s := startLC(t, serverConfig{env: []string{"DJANGO_DEBUG=1", "DEMO_STATIC_ROOT=" + root}}, "--static")
			c := newClient()
			url := s.url("/static/admin/css/base.css")
			r := get(t, c, url)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, want)
			wantHeader(t, r, "Content-Type", "text/css; charset=utf-8")
			wantHeader(t, r, "Cache-Control", cacheFinder)
			tag := r.resp.Header.Get("ETag")
			if tag == "" {
				t.Errorf("no ETag")
			}
			r = fileReq(t, c, http.MethodGet, url, "If-None-Match", tag)
			wantStatus(t, r, http.StatusNotModified)
			r = fileReq(t, c, http.MethodGet, url, "Range", "bytes=0-9")
			wantStatus(t, r, http.StatusPartialContent)
			wantBody(t, r, want[:10])

			for _, p := range []string{"/static/admin/css/missing.css", "/static/only-collected.css"} {
				wantStatus(t, get(t, c, s.url(p)), http.StatusNotFound)
			}
			for _, p := range []string{
				"/static/../manage.py", "/static/%2e%2e/manage.py", "/static/admin/..%2f..%2fadmin/__init__.py",
				"/static/%252e%252e/manage.py", `/static/..\manage.py`, "/static/admin/css/base.css%00",
				"/static/admin/../../../../../../etc/passwd",
			} {
				conn := dialRaw(t, s)
				conn.send(t, rawGet(p, "127.0.0.1"))
				r := conn.read(t, http.MethodGet)
				if r.resp.StatusCode != http.StatusNotFound && r.resp.StatusCode != http.StatusBadRequest {
					t.Errorf("GET %s: status %d, want 404 or 400; body %q", p, r.resp.StatusCode, clip(r.body))
				}
				if bytes.Contains(r.body, []byte("root:x:0:0")) || bytes.Contains(r.body, []byte("import")) {
					t.Errorf("GET %s: the answer carries a file's content %q", p, clip(r.body))
				}
			}
			wantStatus(t, fileReq(t, c, http.MethodPost, url), http.StatusMethodNotAllowed)
		})
	}
}

// TestStaticNotMounted: without the flags, /static/ and /media/ are the
// app's (Django answers 404 with DEBUG off).
func TestStaticNotMounted(t *testing.T) {
	requirePython(t)
	st := &fileSite{dir: t.TempDir()}
	st.static = filepath.Join(st.dir, "static")
	writeFile(t, filepath.Join(st.static, "app.css"), []byte("body {}"))
	s := startLC(t, serverConfig{env: []string{"DEMO_STATIC_ROOT=" + st.static}})
	r := get(t, newClient(), s.url("/static/app.css"))
	wantStatus(t, r, http.StatusNotFound)
	rec := waitLog(t, s, 5*time.Second, "for /static/app.css", func(r record) bool {
		return r.str("msg") == "request" && r.str("path") == "/static/app.css"
	})
	if w, _ := rec.num("worker"); w < 0 {
		t.Errorf("without --static the request should reach Django: %v", rec)
	}
}
