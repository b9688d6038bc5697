package static

import "testing"

func TestParseRange(t *testing.T) {
	cases := []struct {
		h             string
		size          int64
		start, length int64
		kind          rangeKind
	}{
		{"bytes=0-9", 10, 0, 10, rangeOne},
		{"bytes=0-0", 10, 0, 1, rangeOne},
		{"BYTES=1-2", 10, 1, 2, rangeOne},
		{"bytes=5-", 10, 5, 5, rangeOne},
		{"bytes=-4", 10, 6, 4, rangeOne},
		{"bytes=-40", 10, 0, 10, rangeOne},
		{"bytes=9-100", 10, 9, 1, rangeOne},
		{"bytes=10-", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 10, 0, 0, rangeUnsatisfiable},
		{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=-1", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=0-1,2-3", 10, 0, 0, rangeIgnore},
		{"bytes=0-1,", 10, 0, 0, rangeIgnore},
		{"bytes=3-2", 10, 0, 0, rangeIgnore},
		{"bytes=-", 10, 0, 0, rangeIgnore},
		{"bytes=", 10, 0, 0, rangeIgnore},
		{"bytes=+1-2", 10, 0, 0, rangeIgnore},
		{"bytes=0x1-2", 10, 0, 0, rangeIgnore},
		{"bytes 0-1", 10, 0, 0, rangeIgnore},
		{"chars=0-1", 10, 0, 0, rangeIgnore},
		{"", 10, 0, 0, rangeIgnore},
	}
	for _, c := range cases {
		start, length, kind := parseRange(c.h, c.size)
		if kind != c.kind || (kind == rangeOne && (start != c.start || length != c.length)) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", c.h, c.size, start, length, kind, c.start, c.length, c.kind)
		}
	}
}

func TestAcceptQ(t *testing.T) {
	cases := []struct {
		h        string
		br, gzip float64
	}{
		{"", 0, 0},
		{"gzip, deflate, br, zstd", 1, 1},
		{"br;q=0.5, gzip;q=0.9", 0.5, 0.9},
		{"br; q=0", 0, 0},
		{"*;q=0.3", 0.3, 0.3},
		{"*, gzip;q=0", 1, 0},
		{"x-gzip", 0, 1},
		{"BR", 1, 0},
		{"br;q=1.5", 0, 0},
		{"br;q=nan", 0, 0},
		{"identity", 0, 0},
		{"br;level=3;q=0.2", 0.2, 0},
	}
	for _, c := range cases {
		if br, gz := acceptQ([]byte(c.h)); br != c.br || gz != c.gzip {
			t.Errorf("acceptQ(%q) = %v, %v; want %v, %v", c.h, br, gz, c.br, c.gzip)
		}
	}
}

func TestETagListMatch(t *testing.T) {
	const tag = `"a-b"`
	cases := []struct {
		list string
		want bool
	}{
		{`"a-b"`, true},
		{`W/"a-b"`, true},
		{`"x", "a-b"`, true},
		{`"x",W/"a-b"`, true},
		{`*`, true},
		{`"a-b-br"`, false},
		{`a-b`, false},
		{`"x", a-b`, false},
		{`"a-b`, false},
		{``, false},
		{`W/`, false},
	}
	for _, c := range cases {
		if got := etagListMatch(c.list, tag); got != c.want {
			t.Errorf("etagListMatch(%q) = %v", c.list, got)
		}
	}
}

func TestContentType(t *testing.T) {
	cases := map[string]string{
		"a.html":       "text/html; charset=utf-8",
		"a.CSS":        "text/css; charset=utf-8",
		"a.mjs":        "text/javascript; charset=utf-8",
		"a.js.map":     "application/json",
		"a.woff2":      "font/woff2",
		"a.svg":        "image/svg+xml",
		"a.tar.gz":     "application/gzip",
		"a.wasm":       "application/wasm",
		"dir.d/noext":  octetStream,
		"a.unknownext": octetStream,
		"a.":           octetStream,
		".bashrc":      octetStream,
	}
	for name, want := range cases {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
	for _, ct := range []string{"text/html; charset=utf-8", "image/svg+xml", "text/xml; charset=utf-8", "application/xml", "application/xhtml+xml", "application/rss+xml"} {
		if !active(ct) {
			t.Errorf("%s is not sandboxed", ct)
		}
	}
	for _, ct := range []string{"image/png", "application/pdf", "text/plain; charset=utf-8", "application/json"} {
		if active(ct) {
			t.Errorf("%s is sandboxed", ct)
		}
	}
}

func TestHashed(t *testing.T) {
	cases := map[string]bool{
		"app.3f2a9b1c4d5e.css":        true,
		"css/app.3f2a9b1c4d5e.css":    true,
		"app.3f2a9b1c4d5e.css.gz":     true,
		"vendor.min.0123456789ab.js":  true,
		"app.css":                     false,
		"app.3F2A9B1C4D5E.css":        false,
		"app.3f2a9b1c4d5.css":         false,
		"app.3f2a9b1c4d5e0.css":       false,
		"app.3f2a9b1c4d5e.":           false,
		"3f2a9b1c4d5e.css":            false,
		"x.3f2a9b1c4d5e.d/plain.css":  false,
		"app.3f2a9b1c4d5g.css":        false,
		".0123456789ab.x":             true,
		"img/logo.0123456789ab.png":   true,
		"img/logo.0123456789ab/x.png": false,
	}
	for name, want := range cases {
		if got := hashed(name); got != want {
			t.Errorf("hashed(%q) = %v", name, got)
		}
	}
}
