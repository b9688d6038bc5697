package static

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkServe100KB measures one keep-alive GET of a 100 KB file through
// fasthttp on an in-memory listener, the whole answer read by the client.
func BenchmarkServe100KB(b *testing.B) {
	root := b.TempDir()
	body := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)
	must(b, os.MkdirAll(filepath.Join(root, "css"), 0o755))
	must(b, os.WriteFile(filepath.Join(root, "css", "app.3f2a9b1c4d5e.css"), body, 0o644))
	s := newServer(b, Mount{Prefix: "/static/", Root: root})
	c := &fasthttp.HostClient{Addr: "static", Dial: func(string) (net.Conn, error) { return s.ln.Dial() }}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://static/static/css/app.3f2a9b1c4d5e.css")
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 || len(resp.Body()) != len(body) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
		}
	}
}
