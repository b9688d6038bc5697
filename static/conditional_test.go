package static

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
