package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests here share one server with default flags and do not change it.

var payload = sync.OnceValue(func() []byte {
	b := make([]byte, 5_000_000)
	r := rand.New(rand.NewChaCha8([32]byte{'h', 'u', 'r', 'r', 'i', 'c', 'a', 'n', 'e'}))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
})

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// unsized hides the length of a reader so net/http sends it chunked.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestHello(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	for _, path := range []string{"/hello", "/ahello"} {
		t.Run("GET "+path, func(t *testing.T) {
			r := get(t, c, s.url(path))
			wantStatus(t, r, http.StatusOK)
			if string(r.body) != "Hello world!" {
				t.Errorf("body %q, want %q", r.body, "Hello world!")
			}
			if ct := r.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
		})
		t.Run("HEAD "+path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodHead, s.url(path), nil)
			r := do(t, c, req)
			wantStatus(t, r, http.StatusOK)
			if len(r.body) != 0 {
				t.Errorf("HEAD body %q, want none", r.body)
			}
			if cl := r.resp.Header.Get("Content-Length"); cl != "12" {
				t.Errorf("HEAD Content-Length %q, want 12", cl)
			}
		})
	}
	t.Run("HEAD then GET on one connection", func(t *testing.T) {
		// A HEAD answer with body bytes would corrupt the next response.
		conn := dialRaw(t, s)
		conn.send(t, "HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"+rawGet("/hello", "127.0.0.1"))
		head := conn.read(t, http.MethodHead)
		wantStatus(t, head, http.StatusOK)
		next := conn.read(t, http.MethodGet)
		wantStatus(t, next, http.StatusOK)
		if string(next.body) != "Hello world!" {
			t.Errorf("GET after HEAD: body %q, want %q", next.body, "Hello world!")
		}
	})
}

func TestRequestBodies(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 1_000_000, 5_000_000}
	for _, path := range []string{"/echo", "/aecho"} {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", path, n), func(t *testing.T) {
				body := payload()[:n]
				req, _ := http.NewRequest(http.MethodPost, s.url(path), bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/octet-stream")
				e := decodeEcho(t, do(t, c, req))
				if e.Method != "POST" {
					t.Errorf("method %q, want POST", e.Method)
				}
				if e.BodyLen != n || e.BodySHA256 != sha(body) {
					t.Errorf("app got %d bytes sha256 %s, want %d bytes sha256 %s", e.BodyLen, e.BodySHA256, n, sha(body))
				}
				if n > 0 {
					if got := e.header("CONTENT_LENGTH"); len(got) != 1 || got[0] != strconv.Itoa(n) {
						t.Errorf("CONTENT_LENGTH %q, want %d", got, n)
					}
				}
			})
		}
	}
}

// A body that trickles in holds a request slot of the shared region only
// for a while: what came by then reaches the view as one chunk, the rest
// as the view asks, and the view gets every byte. The sleeps are the
// client's, not synchronisation: they are what makes it slow.
func TestSlowUploadKeepsEveryByte(t *testing.T) {
	s := sharedServer(t)
	const n = 1_000_000
	body := payload()[:n]
	for _, path := range []string{"/echo", "/aecho"} {
		t.Run(path, func(t *testing.T) {
			conn := dialRaw(t, s)
			conn.send(t, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", path, n))
			for i := range 30 { // 300 kB over 600 ms: longer than Go holds a slot for a slow body
				conn.send(t, string(body[i*10_000:(i+1)*10_000]))
				time.Sleep(20 * time.Millisecond)
			}
			conn.send(t, string(body[300_000:]))
			e := decodeEcho(t, conn.read(t, http.MethodPost))
			if e.BodyLen != n || e.BodySHA256 != sha(body) {
				t.Errorf("app got %d bytes sha256 %s, want %d bytes sha256 %s", e.BodyLen, e.BodySHA256, n, sha(body))
			}
			// The connection stays usable.
			conn.send(t, rawGet("/hello", "127.0.0.1"))
			if r := conn.read(t, http.MethodGet); string(r.body) != "Hello world!" {
				t.Errorf("next request on the connection: %d %q", r.resp.StatusCode, clip(r.body))
			}
		})
	}
}

func TestChunkedUpload(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	const n = 3_000_000
	body := payload()[:n]
	newBody := func() io.Reader {
		// Several pieces, none of whose length net/http can see.
		return unsized{io.MultiReader(
			unsized{bytes.NewReader(body[:1000])},
			unsized{bytes.NewReader(body[1000 : 1<<20])},
			unsized{bytes.NewReader(body[1<<20:])},
		)}
	}
	for _, path := range []string{"/echo", "/aecho"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.url(path), newBody())
			req.Header.Set("Content-Type", "application/octet-stream")
			e := decodeEcho(t, do(t, c, req))
			if te := e.header("HTTP_TRANSFER_ENCODING"); len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
				t.Errorf("the app saw Transfer-Encoding %q; the upload was not chunked", te)
			}
			if e.BodyLen != n || e.BodySHA256 != sha(body) {
				t.Errorf("app got %d bytes sha256 %s, want %d bytes sha256 %s", e.BodyLen, e.BodySHA256, n, sha(body))
			}
		})
	}
	t.Run("/upload", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.url("/upload"), newBody())
		req.Header.Set("Content-Type", "application/octet-stream")
		r := do(t, c, req)
		wantStatus(t, r, http.StatusOK)
		var got struct {
			Size   int    `json:"size"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("decoding %q: %v", clip(r.body), err)
		}
		if got.Size != n || got.SHA256 != sha(body) {
			t.Errorf("upload got %d bytes sha256 %s, want %d bytes sha256 %s", got.Size, got.SHA256, n, sha(body))
		}
	})
}

func TestMultipartUpload(t *testing.T) {
	s := sharedServer(t)
	file := payload()[:3<<20]
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("note", "hello wörld"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest(http.MethodPost, s.url("/upload-form"), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r := do(t, newClient(), req)
	wantStatus(t, r, http.StatusOK)
	var got struct {
		Files map[string]struct {
			Name   string `json:"name"`
			Size   int    `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("decoding %q: %v", clip(r.body), err)
	}
	f, ok := got.Files["file"]
	if !ok {
		t.Fatalf("no file in the answer: %s", clip(r.body))
	}
	if f.Name != "big.bin" || f.Size != len(file) || f.SHA256 != sha(file) {
		t.Errorf("file %+v, want name big.bin size %d sha256 %s", f, len(file), sha(file))
	}
	if got.Fields["note"] != "hello wörld" {
		t.Errorf("field note %q, want %q", got.Fields["note"], "hello wörld")
	}
}

func TestRepeatedQueryParams(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	for _, path := range []string{"/echo", "/aecho"} {
		t.Run(path, func(t *testing.T) {
			e := decodeEcho(t, get(t, c, s.url(path+"?a=1&a=2&b=3")))
			want := map[string][]string{"a": {"1", "2"}, "b": {"3"}}
			if !reflect.DeepEqual(e.Query, want) {
				t.Errorf("query %v, want %v", e.Query, want)
			}
			if e.FullPath != path+"?a=1&a=2&b=3" {
				t.Errorf("full_path %q, want %q", e.FullPath, path+"?a=1&a=2&b=3")
			}
		})
	}
}

func TestRepeatedHeaders(t *testing.T) {
	s := sharedServer(t)
	for _, path := range []string{"/echo", "/aecho"} {
		t.Run(path, func(t *testing.T) {
			conn := dialRaw(t, s)
			conn.send(t, rawGet(path, "127.0.0.1", "X-Multi: one", "X-Other: x", "X-Multi: two"))
			e := decodeEcho(t, conn.read(t, http.MethodGet))
			if got := e.header("HTTP_X_MULTI"); len(got) != 1 || got[0] != "one,two" {
				t.Errorf("HTTP_X_MULTI %q, want [\"one,two\"]", got)
			}
		})
	}
}

func TestLargeHeaders(t *testing.T) {
	s := sharedServer(t)
	t.Run("8KB value", func(t *testing.T) {
		value := strings.Repeat("abcdefgh", 1024)
		req, _ := http.NewRequest(http.MethodGet, s.url("/echo"), nil)
		req.Header.Set("X-Big", value)
		e := decodeEcho(t, do(t, newClient(), req))
		if got := e.header("HTTP_X_BIG"); len(got) != 1 || got[0] != value {
			t.Errorf("HTTP_X_BIG arrived as %d values, lengths %v; want one of %d bytes", len(got), lens(got), len(value))
		}
	})
	big := strings.Repeat("v", 70<<10)
	var many []string
	for i := range 10 {
		many = append(many, fmt.Sprintf("X-H%d: %s", i, strings.Repeat("w", 7<<10)))
	}
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"one 70KiB header", []string{"X-Huge: " + big}},
		{"ten 7KiB headers", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialRaw(t, s)
			conn.send(t, rawGet("/hello", "127.0.0.1", tc.headers...))
			r := conn.read(t, http.MethodGet)
			wantStatus(t, r, http.StatusRequestHeaderFieldsTooLarge)
		})
	}
	t.Run("still serving", func(t *testing.T) {
		wantStatus(t, get(t, newClient(), s.url("/hello")), http.StatusOK)
	})
}

func lens(ss []string) []int {
	var out []int
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

func TestUTF8Path(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	for _, base := range []string{"/echo", "/aecho"} {
		t.Run(base, func(t *testing.T) {
			e := decodeEcho(t, get(t, c, s.url(base+"/caf%C3%A9/%E2%9C%93")))
			want := base + "/café/✓"
			if e.PathInfo != want {
				t.Errorf("path_info %q, want %q", e.PathInfo, want)
			}
			if e.Path != want {
				t.Errorf("path %q, want %q", e.Path, want)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	s := sharedServer(t)
	r := get(t, newClient(), s.url("/cookies"))
	wantStatus(t, r, http.StatusOK)
	got := r.resp.Header.Values("Set-Cookie")
	if len(got) != 3 {
		t.Fatalf("Set-Cookie headers %q, want 3", got)
	}
	for i, want := range []string{"a=1", "b=2", "c=3"} {
		if !strings.HasPrefix(got[i], want+";") && got[i] != want {
			t.Errorf("Set-Cookie #%d %q, want it to start with %s", i, got[i], want)
		}
	}
}

func TestRedirect(t *testing.T) {
	s := sharedServer(t)
	r := get(t, newClient(), s.url("/redirect"))
	wantStatus(t, r, http.StatusFound)
	if loc := r.resp.Header.Get("Location"); loc != "/hello" {
		t.Errorf("Location %q, want /hello", loc)
	}
}

func TestNoBodyStatuses(t *testing.T) {
	s := sharedServer(t)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/nocontent", http.StatusNoContent},
		{"/notmodified", http.StatusNotModified},
	} {
		t.Run(tc.path, func(t *testing.T) {
			conn := dialRaw(t, s)
			// Two requests at once: stray body bytes after the first
			// answer would break the second.
			conn.send(t, rawGet(tc.path, "127.0.0.1")+rawGet("/hello", "127.0.0.1"))
			r := conn.read(t, http.MethodGet)
			wantStatus(t, r, tc.status)
			if len(r.resp.TransferEncoding) > 0 {
				t.Errorf("Transfer-Encoding %q on a %d", r.resp.TransferEncoding, tc.status)
			}
			if cl := r.resp.Header.Get("Content-Length"); cl != "" && cl != "0" {
				t.Errorf("Content-Length %q on a %d", cl, tc.status)
			}
			// RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204.
			if cl := r.resp.Header.Values("Content-Length"); tc.status == http.StatusNoContent && len(cl) > 0 {
				t.Errorf("a 204 carries Content-Length %q", cl)
			}
			next := conn.read(t, http.MethodGet)
			wantStatus(t, next, http.StatusOK)
			if string(next.body) != "Hello world!" {
				t.Errorf("next response on the connection: body %q, want %q", next.body, "Hello world!")
			}
		})
	}
}

func TestErrorHidesTraceback(t *testing.T) {
	s := sharedServer(t)
	r := get(t, newClient(), s.url("/error"))
	wantStatus(t, r, http.StatusInternalServerError)
	for _, secret := range []string{"secret-traceback-marker", "Traceback"} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("the 500 body reveals %q: %q", secret, clip(r.body))
		}
	}
}

func TestDisallowedHost(t *testing.T) {
	s := sharedServer(t)
	req, _ := http.NewRequest(http.MethodGet, s.url("/hello"), nil)
	req.Host = "evil.example"
	wantStatus(t, do(t, newClient(), req), http.StatusBadRequest)
}

func TestStreaming(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	const want = "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n"
	for _, path := range []string{"/stream", "/astream"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.url(path+"?chunks=5&delay_ms=400"), nil)
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			firstAt := time.Since(start)
			if err != nil {
				t.Fatalf("reading the first chunk: %v", err)
			}
			rest, err := io.ReadAll(br)
			total := time.Since(start)
			if err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			if first != "chunk 0\n" {
				t.Errorf("first line %q, want %q", first, "chunk 0\n")
			}
			if got := first + string(rest); got != want {
				t.Errorf("body %q, want %q", got, want)
			}
			t.Logf("first chunk after %s, whole body after %s", firstAt, total)
			if firstAt > time.Second {
				t.Errorf("first chunk arrived after %s, want within 1s (the response is buffered)", firstAt)
			}
			if total < 1600*time.Millisecond {
				t.Errorf("whole body took %s, want at least 1.6s (4 delays of 400ms)", total)
			}
		})
	}
}

func TestFileResponse(t *testing.T) {
	s := sharedServer(t)
	r := get(t, newClient(), s.url("/file?kb=3072"))
	wantStatus(t, r, http.StatusOK)
	const n = 3072 << 10
	if cl := r.resp.Header.Get("Content-Length"); cl != strconv.Itoa(n) {
		t.Errorf("Content-Length %q, want %d", cl, n)
	}
	if len(r.body) != n {
		t.Fatalf("body has %d bytes, want %d", len(r.body), n)
	}
	for i, b := range r.body {
		if b != byte(i) {
			t.Fatalf("byte %d is %d, want %d", i, b, byte(i))
		}
	}
}

func TestKeepAlive(t *testing.T) {
	s := sharedServer(t)
	conn := dialRaw(t, s)
	for i := range 100 {
		conn.send(t, rawGet("/hello", "127.0.0.1"))
		r := conn.read(t, http.MethodGet)
		if r.resp.StatusCode != http.StatusOK || string(r.body) != "Hello world!" {
			t.Fatalf("request %d on the connection: status %d body %q", i, r.resp.StatusCode, r.body)
		}
		if r.resp.Close {
			t.Fatalf("request %d: the server closes the connection", i)
		}
	}
}

func TestGarbageRequest(t *testing.T) {
	s := sharedServer(t)
	conn := dialRaw(t, s)
	conn.send(t, "\x00\x01GARBAGE\r\n\r\n")
	r := conn.read(t, http.MethodGet)
	wantStatus(t, r, http.StatusBadRequest)
	wantStatus(t, get(t, newClient(), s.url("/hello")), http.StatusOK)
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestAccessLogRequestID(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	t.Run("given", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.url("/echo?given=1"), nil)
		req.Header.Set("X-Request-ID", "test-id-123")
		req.Header.Set("traceparent", "00-abc-def-01")
		r := do(t, c, req)
		e := decodeEcho(t, r)
		if got := r.resp.Header.Values("X-Request-ID"); len(got) != 1 || got[0] != "test-id-123" {
			t.Errorf("response X-Request-ID %q, want [test-id-123]", got)
		}
		if got := e.header("HTTP_X_REQUEST_ID"); len(got) != 1 || got[0] != "test-id-123" {
			t.Errorf("the app saw X-Request-ID %q, want [test-id-123]", got)
		}
		rec := waitLog(t, s, 5*time.Second, "for request_id test-id-123", func(r record) bool {
			return r.str("msg") == "request" && r.str("request_id") == "test-id-123"
		})
		status, _ := rec.num("status")
		if rec.str("method") != "GET" || rec.str("path") != "/echo" || status != 200 ||
			rec.str("traceparent") != "00-abc-def-01" || rec.str("remote") != "127.0.0.1" {
			t.Errorf("access log record %v: want method GET, path /echo, status 200, traceparent 00-abc-def-01, remote 127.0.0.1", rec)
		}
		for _, k := range []string{"bytes", "duration_ms", "worker"} {
			if _, ok := rec.num(k); !ok {
				t.Errorf("access log record has no number %q: %v", k, rec)
			}
		}
	})
	t.Run("generated", func(t *testing.T) {
		r := get(t, c, s.url("/echo?generated=1"))
		e := decodeEcho(t, r)
		id := r.resp.Header.Get("X-Request-ID")
		if !hex32.MatchString(id) {
			t.Fatalf("response X-Request-ID %q, want 32 hex digits", id)
		}
		if got := e.header("HTTP_X_REQUEST_ID"); len(got) != 1 || got[0] != id {
			t.Errorf("the app saw X-Request-ID %q, the response says %q", got, id)
		}
		waitLog(t, s, 5*time.Second, "for the generated request id", func(r record) bool {
			return r.str("msg") == "request" && r.str("request_id") == id
		})
	})
}

func TestAppOutput(t *testing.T) {
	s := sharedServer(t)
	r := get(t, newClient(), s.url("/print"))
	wantStatus(t, r, http.StatusOK)
	for _, stream := range []string{"stdout", "stderr"} {
		line := "hello from " + stream
		rec := waitLog(t, s, 5*time.Second, "for "+stream+" output", func(r record) bool {
			return r.str("msg") == "app output" && r.str("stream") == stream && r.str("line") == line
		})
		if _, ok := rec.num("pid"); !ok {
			t.Errorf("app output record without pid: %v", rec)
		}
	}
}

func TestClientDisconnectDuringDownload(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	req, _ := http.NewRequest(http.MethodGet, s.url("/download?mb=1024"), nil)
	req.Header.Set("X-Request-ID", "download-disconnect")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 1<<30 {
		resp.Body.Close()
		t.Fatalf("status %d Content-Length %d, want 200 and %d", resp.StatusCode, resp.ContentLength, 1<<30)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatalf("reading the first MiB: %v", err)
	}
	resp.Body.Close() // unread body: the transport closes the connection
	c.CloseIdleConnections()

	wantStatus(t, get(t, newClient(), s.url("/hello")), http.StatusOK)
	rec := waitLog(t, s, 10*time.Second, "for the abandoned /download", func(r record) bool {
		return r.str("msg") == "request" && r.str("request_id") == "download-disconnect"
	})
	n, _ := rec.num("bytes")
	t.Logf("access log: %v", rec)
	if n >= 512<<20 {
		t.Errorf("the access log says %v bytes were sent after the client left at 1 MiB; want well below 1 GiB", n)
	}
	if rec.str("path") != "/download" {
		t.Errorf("path %q, want /download", rec.str("path"))
	}
	// The worker's thread is free again: sync views still run.
	wantStatus(t, get(t, newClient(), s.url("/echo")), http.StatusOK)
}

// Downloads compete for the worker's shared body slots while clients walk
// away mid-body: every complete download has every byte in its place, and
// the slots of abandoned ones come back (later downloads do not stall).
func TestConcurrentDownloads(t *testing.T) {
	s := sharedServer(t)
	const mb = 6
	client := func() *http.Client {
		c := newClient()
		c.Timeout = time.Minute // a lost slot would stall a download, not the test run
		return c
	}
	download := func() error {
		resp, err := client().Get(s.url(fmt.Sprintf("/download?mb=%d", mb)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if len(body) != mb<<20 {
			return fmt.Errorf("%d bytes, want %d", len(body), mb<<20)
		}
		for i := range mb {
			want := byte('x')
			if i > 0 {
				want = byte('a' + (i-1)%23)
			}
			block := body[i<<20 : (i+1)<<20]
			if j := bytes.IndexFunc(block, func(r rune) bool { return r != rune(want) }); j >= 0 {
				return fmt.Errorf("MiB %d byte %d is %q, want %q", i, j, block[j], want)
			}
		}
		return nil
	}
	abandon := func() error {
		resp, err := client().Get(s.url("/download?mb=256"))
		if err != nil {
			return err
		}
		_, err = io.ReadFull(resp.Body, make([]byte, 3<<20))
		resp.Body.Close()
		return err
	}
	// Rounds of abandoned downloads first: a slot lost with each would
	// leave the last round none.
	for round := range 6 {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 12 {
			wg.Go(func() {
				work := download
				if round < 5 && i%2 == 0 {
					work = abandon
				}
				if err := work(); err != nil {
					errs <- fmt.Errorf("round %d client %d: %w", round, i, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func TestScopeSyncAsyncAgree(t *testing.T) {
	s := sharedServer(t)
	c := newClient()
	got := map[string]*echoPayload{}
	for _, path := range []string{"/echo", "/aecho"} {
		req, _ := http.NewRequest(http.MethodGet, s.url(path+"?x=1"), nil)
		req.Header.Set("X-Foo", "bar")
		got[path] = decodeEcho(t, do(t, c, req))
	}
	port := strconv.Itoa(s.port)
	for path, e := range got {
		t.Run(path, func(t *testing.T) {
			for _, ck := range []struct{ field, got, want string }{
				{"method", e.Method, "GET"},
				{"path", e.Path, path},
				{"path_info", e.PathInfo, path},
				{"full_path", e.FullPath, path + "?x=1"},
				{"scheme", e.Scheme, "http"},
				{"remote_addr", e.RemoteAddr, "127.0.0.1"},
				{"server_port", e.ServerPort, port},
				{"server_name", e.ServerName, "127.0.0.1"},
				{"HTTP_X_FOO", strings.Join(e.header("HTTP_X_FOO"), "|"), "bar"},
				{"HTTP_HOST", strings.Join(e.header("HTTP_HOST"), "|"), "127.0.0.1:" + port},
			} {
				if ck.got != ck.want {
					t.Errorf("%s %q, want %q", ck.field, ck.got, ck.want)
				}
			}
			if e.IsSecure {
				t.Error("is_secure true over plain HTTP")
			}
			if !reflect.DeepEqual(e.Query, map[string][]string{"x": {"1"}}) {
				t.Errorf("query %v, want x=[1]", e.Query)
			}
		})
	}
	// Apart from the generated request id, both see the same headers.
	strip := func(e *echoPayload) [][2]string {
		var out [][2]string
		for _, h := range e.Headers {
			if h[0] != "HTTP_X_REQUEST_ID" {
				out = append(out, h)
			}
		}
		return out
	}
	if a, b := strip(got["/echo"]), strip(got["/aecho"]); !reflect.DeepEqual(a, b) {
		t.Errorf("headers differ:\n sync  %v\n async %v", a, b)
	}
}

// An HTTP/1.0 client cannot decode chunked framing: RFC 9112 §6.1 forbids
// Transfer-Encoding in a response to an HTTP/1.0 request, so a body of
// unknown length must end with the connection instead.
func TestHTTP10(t *testing.T) {
	s := sharedServer(t)
	for _, tc := range []struct{ path, want string }{
		{"/hello", "Hello world!"},
		{"/stream?chunks=3&delay_ms=10", "chunk 0\nchunk 1\nchunk 2\n"},
		{"/astream?chunks=3&delay_ms=10", "chunk 0\nchunk 1\nchunk 2\n"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			conn := dialRaw(t, s)
			conn.send(t, "GET "+tc.path+" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
			r := conn.read(t, http.MethodGet)
			wantStatus(t, r, http.StatusOK)
			if string(r.body) != tc.want {
				t.Errorf("body %q, want %q", r.body, tc.want)
			}
			if len(r.resp.TransferEncoding) > 0 {
				t.Errorf("response to an HTTP/1.0 request has Transfer-Encoding %q", r.resp.TransferEncoding)
			}
		})
	}
}
