package static

import (
	"strings"
	"testing"
)

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
