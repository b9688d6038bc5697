package static

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nasty are raw paths after "/static/" that must never be answered with a
// file from outside the root, nor with a directory or special file. Every
// one of them is also a FuzzResolve seed.
var nasty = []struct {
	raw    string
	status int
}{
	{"../outside/secret.txt", 404},
	{"..%2foutside%2fsecret.txt", 404},
	{"..%2Foutside%2Fsecret.txt", 404},
	{"%2e%2e/outside/secret.txt", 404},
	{"%2E%2E/outside/secret.txt", 404},
	{".%2e/outside/secret.txt", 404},
	{"%2e%2e%2foutside%2fsecret.txt", 404},
	{"%252e%252e/outside/secret.txt", 404},
	{"%252e%252e%252foutside%252fsecret.txt", 404},
	{"..%5coutside%5csecret.txt", 404},
	{"..%5Coutside%5Csecret.txt", 404},
	{`..\outside\secret.txt`, 404},
	{`js\..\..\outside\secret.txt`, 404},
	{"js/../../outside/secret.txt", 404},
	{"js/%2e%2e/%2e%2e/outside/secret.txt", 404},
	{"js/./../../outside/secret.txt", 404},
	{"./app.css", 404},
	{"....//outside/secret.txt", 404},
	{"..;/outside/secret.txt", 404},
	{"/etc/passwd", 404},
	{"%2fetc%2fpasswd", 404},
	{"//etc/passwd", 404},
	{"C:/Windows/win.ini", 404},
	{"c:%5cWindows%5cwin.ini", 404},
	{"js/C:/x", 404},
	{"app.css%00.txt", 400},
	{"app.css\x00", 400},
	{"%00", 400},
	{"js/..%00/app.js", 400},
	{"app.css%0a", 400},
	{"%c0%ae%c0%ae/outside/secret.txt", 400},
	{"%e0%80%ae%e0%80%ae/outside/secret.txt", 400},
	{"%u002e%u002e/outside/secret.txt", 400},
	{"%", 400},
	{"%2", 400},
	{"%zz", 400},
	{"link-out.txt", 404},
	{"link-abs.txt", 404},
	{"linkdir-out/secret.txt", 404},
	{"linkdir-out/../static/app.css", 404},
	{"link-dev", 404},
	{"link-loop", 404},
	{"fifo", 404},
	{"dir", 404},
	{"dir/", 404},
	{"js//app.js", 404},
	{"", 404},
	{"missing.css", 404},
	{"app.css/", 404},
	{"app.css/..", 404},
	{"app.css/x", 404},
	{"linkdir-in/../../outside/secret.txt", 404},
	{"linkdir-in/%2e%2e/%2e%2e/outside/secret.txt", 404},
	{strings.Repeat("a/", 3000) + "x", 404},
}

func TestTraversal(t *testing.T) {
	tr := newTree(t)
	s := newServer(t, Mount{Prefix: "/static/", Root: tr.static})
	root, err := filepath.EvalSymlinks(tr.static)
	must(t, err)
	for _, c := range nasty {
		t.Run(strings.ToValidUTF8(c.raw, "?")[:min(len(c.raw), 60)], func(t *testing.T) {
			if _, _, status := resolve(root, c.raw); status != c.status {
				t.Errorf("resolve: status %d, want %d", status, c.status)
			}
			if strings.ContainsAny(c.raw, "\x00\n") {
				return // cannot travel in a request line
			}
			for _, method := range []string{"GET", "HEAD"} {
				r := s.do(t, method, "/static/"+c.raw, "Accept-Encoding: br, gzip")
				if r.StatusCode() != 400 && r.StatusCode() != 404 {
					t.Errorf("%s: status %d, want a refusal", method, r.StatusCode())
				}
				if strings.Contains(string(r.Body()), secret) {
					t.Errorf("%s: leaked the file outside the root", method)
				}
			}
		})
	}
}

func TestCleanRel(t *testing.T) {
	cases := []struct{ raw, rel string }{
		{"app.css", "app.css"},
		{"js/app.js", "js/app.js"},
		{"caf%C3%A9.txt", "caf\u00e9.txt"},
		{"caf\u00e9.txt", "caf\u00e9.txt"},
		{"with%20space.txt", "with space.txt"},
		{"a+b.txt", "a+b.txt"},
		{"app%2Ecss", "app.css"},
		{"...", "..."},
		{".well-known/x", ".well-known/x"},
		{"x..y", "x..y"},
		{"ab:c.txt", "ab:c.txt"},
	}
	for _, c := range cases {
		if rel, status := cleanRel(c.raw); status != 0 || rel != c.rel {
			t.Errorf("cleanRel(%q) = %q, %d; want %q", c.raw, rel, status, c.rel)
		}
	}
}

// FuzzResolve checks the one promise of resolve: whatever the raw path, the
// answer is a refusal, or a regular file inside the resolved root with no
// symlink left in its path.
func FuzzResolve(f *testing.F) {
	tr := newTree(f)
	root, err := filepath.EvalSymlinks(tr.static)
	must(f, err)
	outside, err := filepath.EvalSymlinks(tr.outside)
	must(f, err)
	for _, c := range nasty {
		f.Add(c.raw)
	}
	for _, ok := range []string{"app.css", "js/app.js.br", "sub/link-up.js", "link-in.css", "linkdir-in/app.js", "caf%C3%A9.txt", "dir/index.html"} {
		f.Add(ok)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		path, fi, status := resolve(root, raw)
		switch status {
		case 400, 404:
			if path != "" || fi != nil {
				t.Fatalf("refused %q with %d but returned %q", raw, status, path)
			}
			return
		case 0:
		default:
			t.Fatalf("resolve(%q): status %d", raw, status)
		}
		if !within(root, path) || path == root {
			t.Fatalf("resolve(%q) = %q, outside %q", raw, path, root)
		}
		if strings.HasPrefix(path, outside) {
			t.Fatalf("resolve(%q) = %q, the planted outside file", raw, path)
		}
		real, err := filepath.EvalSymlinks(path)
		if err != nil || real != path {
			t.Fatalf("resolve(%q) = %q, which resolves to %q (%v)", raw, path, real, err)
		}
		if fi == nil || !fi.Mode().IsRegular() {
			t.Fatalf("resolve(%q) = %q, not a regular file", raw, path)
		}
		b, err := os.ReadFile(path)
		if err != nil || strings.Contains(string(b), secret) {
			t.Fatalf("resolve(%q) = %q: %v", raw, path, err)
		}
		rel, _ := cleanRel(raw)
		if strings.Contains(rel, "\\") || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, 0) {
			t.Fatalf("cleanRel(%q) = %q", raw, rel)
		}
		for seg := range strings.SplitSeq(rel, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("cleanRel(%q) = %q has segment %q", raw, rel, seg)
			}
		}
	})
}
