package static

import "testing"

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
