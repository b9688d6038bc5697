package static

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxPath bounds the raw path after the prefix; longer is refused before
// the file system sees it.
const maxPath = 4096

// resolve maps the raw, still percent-encoded path after a mount's prefix to
// a regular file inside root, which must already be free of symlinks
// (filepath.EvalSymlinks). It answers 0 with the file, or the status that
// refuses the request. It is the whole security boundary of the package and
// what FuzzResolve exercises.
func resolve(root, raw string) (path string, fi fs.FileInfo, status int) {
	rel, status := cleanRel(raw)
	if status != 0 {
		return "", nil, status
	}
	path, fi, ok := locate(root, rel)
	if !ok {
		return "", nil, http.StatusNotFound
	}
	return path, fi, 0
}

// cleanRel decodes raw into a slash-separated path relative to a mount's
// root, touching nothing on disk. Malformed encodings are 400; anything that
// could step out of the root or name it differently is 404.
func cleanRel(raw string) (rel string, status int) {
	if raw == "" || len(raw) > maxPath {
		return "", http.StatusNotFound
	}
	rel = raw
	if strings.IndexByte(raw, '%') >= 0 {
		var b strings.Builder
		b.Grow(len(raw))
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c != '%' {
				b.WriteByte(c)
				continue
			}
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", http.StatusBadRequest
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			switch c {
			case '/', '\\':
				// An encoded separator would split a segment the client
				// sent as one name.
				return "", http.StatusNotFound
			case '%':
				// "%252e" is "%2e" here, and "." to any layer that
				// decodes once more.
				return "", http.StatusNotFound
			}
			b.WriteByte(c)
		}
		rel = b.String()
	}
	for i := 0; i < len(rel); i++ {
		c := rel[i]
		if c < 0x20 || c == 0x7f {
			return "", http.StatusBadRequest
		}
		if c == '\\' {
			return "", http.StatusNotFound
		}
	}
	if !utf8.ValidString(rel) {
		return "", http.StatusBadRequest
	}
	for seg := range strings.SplitSeq(rel, "/") {
		switch {
		case seg == "", seg == ".", seg == "..":
			// Leading, doubled or trailing slashes, and dot segments.
			return "", http.StatusNotFound
		case len(seg) >= 2 && seg[1] == ':' && isLetter(seg[0]):
			// "C:" means a drive wherever the path is read as Windows'.
			return "", http.StatusNotFound
		}
	}
	return rel, 0
}

// locate finds rel, already cleaned, below root. The path it returns has no
// symlinks left, lies inside root and is a regular file.
func locate(root, rel string) (string, fs.FileInfo, bool) {
	joined := filepath.Join(root, filepath.FromSlash(rel))
	if !within(root, joined) || joined == root {
		return "", nil, false
	}
	// Root has no symlinks, so Lstat of each step below it proves joined
	// is already the real path, and the last one describes the file: a few
	// syscalls instead of EvalSymlinks' one per component from "/".
	start := len(root) + 1
	if strings.HasSuffix(root, string(filepath.Separator)) {
		start = len(root)
	}
	for i := start; i <= len(joined); i++ {
		if i < len(joined) && joined[i] != filepath.Separator {
			continue
		}
		fi, err := os.Lstat(joined[:i])
		switch {
		case err != nil:
			return "", nil, false
		case fi.Mode()&fs.ModeSymlink != 0:
			return follow(root, joined)
		case i == len(joined):
			if !fi.Mode().IsRegular() {
				return "", nil, false
			}
			return joined, fi, true
		case !fi.IsDir():
			return "", nil, false
		}
	}
	return "", nil, false
}

// follow resolves a path with symlinks and keeps it only if it stays in
// root and ends at a regular file.
func follow(root, joined string) (string, fs.FileInfo, bool) {
	real, err := filepath.EvalSymlinks(joined)
	if err != nil || !within(root, real) {
		return "", nil, false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil, false
	}
	return real, fi, true
}

// sibling finds the precompressed twin ("app.css.br") of a located file. When
// the request named the file without symlinks (path is joined root and rel),
// the twin is a plain file in the same directory, which one Lstat proves;
// otherwise it is located like any other name.
func sibling(root, rel, path, suffix string) (string, fs.FileInfo, bool) {
	if path == filepath.Join(root, filepath.FromSlash(rel)) {
		twin := path + suffix
		fi, err := os.Lstat(twin)
		if err != nil {
			return "", nil, false
		}
		if fi.Mode().IsRegular() {
			return twin, fi, true
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return "", nil, false
		}
	}
	return locate(root, rel+suffix)
}

// within reports whether path is root or below it; both are clean.
func within(root, path string) bool {
	if path == root {
		return true
	}
	if strings.HasSuffix(root, string(filepath.Separator)) {
		return strings.HasPrefix(path, root)
	}
	return len(path) > len(root) && path[len(root)] == filepath.Separator && strings.HasPrefix(path, root)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
