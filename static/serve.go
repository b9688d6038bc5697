package static

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Cache-Control values; doc.go explains the choice.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=60"
	cacheFinder    = "no-cache"
)

const textPlain = "text/plain; charset=utf-8"

// representation is the file chosen to answer a request.
type representation struct {
	path     string
	fi       fs.FileInfo
	encoding string // Content-Encoding: "", "br" or "gzip"
}

func (h *Handler) serve(ctx *fasthttp.RequestCtx, m *mount, raw string) {
	hdr := &ctx.Response.Header
	if m.Media {
		hdr.Set("X-Content-Type-Options", "nosniff")
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		hdr.Set("Allow", "GET, HEAD")
		fail(ctx, fasthttp.StatusMethodNotAllowed)
		return
	}
	rel, status := cleanRel(raw)
	if status != 0 {
		h.log.Debug("refused path", "prefix", m.Prefix, "path", raw, "status", status)
		fail(ctx, status)
		return
	}

	root := h.root(m)
	var rep representation
	found, fromFinder := false, false
	if root != "" {
		rep.path, rep.fi, found = locate(root, rel)
	}
	if !found && m.Finder != nil {
		rep.path, rep.fi, status = h.find(ctx, m, rel)
		if status != 0 {
			if status == fasthttp.StatusServiceUnavailable {
				hdr.Set("Retry-After", "1")
			}
			fail(ctx, status)
			return
		}
		found, fromFinder = true, true
	}
	if !found {
		fail(ctx, fasthttp.StatusNotFound)
		return
	}

	ctype := contentType(rel)
	cache := cacheShort
	switch {
	case fromFinder:
		cache = cacheFinder
	case !m.Media && hashed(rel):
		cache = cacheImmutable
	}
	vary := false
	if !fromFinder && !precompressed(rel) {
		vary = choose(root, rel, &rep, ctx.Request.Header.Peek("Accept-Encoding"))
	}

	tag := etag(rep.fi, rep.encoding)
	hdr.Set("ETag", tag)
	hdr.Set("Cache-Control", cache)
	if vary {
		hdr.Set("Vary", "Accept-Encoding")
	}
	if notModified(&ctx.Request.Header, tag, rep.fi) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}

	// A small file seen before with the same size and modification time is
	// answered from memory: no open, no sendfile.
	fi := rep.fi
	data, cached := h.small.get(rep.path, fi)
	var f *os.File
	if !cached {
		// The file was located without symlinks in its path; O_NOFOLLOW
		// makes a symlink swapped in since then fail instead of being
		// followed.
		var err error
		f, err = os.OpenFile(rep.path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				h.log.Warn("open file", "path", rep.path, "error", err)
			}
			hdr.Del("ETag")
			hdr.Del("Cache-Control")
			fail(ctx, fasthttp.StatusNotFound)
			return
		}
		fi, err = f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			f.Close()
			hdr.Del("ETag")
			hdr.Del("Cache-Control")
			fail(ctx, fasthttp.StatusNotFound)
			return
		}
		if data = h.small.load(rep.path, fi, f); data != nil {
			f.Close()
			f = nil
		}
	}
	// What is sent is what is described.
	tag = etag(fi, rep.encoding)
	hdr.Set("ETag", tag)
	size := fi.Size()
	hdr.Set("Accept-Ranges", "bytes")

	start, length := int64(0), size
	if rh := ctx.Request.Header.Peek("Range"); len(rh) > 0 && ctx.IsGet() &&
		ifRange(ctx.Request.Header.Peek("If-Range"), tag, fi) {
		a, n, kind := parseRange(string(rh), size)
		switch kind {
		case rangeOne:
			start, length = a, n
			hdr.Set("Content-Range", "bytes "+strconv.FormatInt(a, 10)+"-"+strconv.FormatInt(a+n-1, 10)+"/"+strconv.FormatInt(size, 10))
			ctx.SetStatusCode(fasthttp.StatusPartialContent)
		case rangeUnsatisfiable:
			closeFile(f)
			// A cache keyed on the URL alone must not keep this answer.
			hdr.Del("ETag")
			hdr.Del("Cache-Control")
			hdr.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			fail(ctx, fasthttp.StatusRequestedRangeNotSatisfiable)
			return
		}
	}

	hdr.SetContentType(ctype)
	if rep.encoding != "" {
		hdr.Set("Content-Encoding", rep.encoding)
	}
	hdr.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	if m.Media && active(ctype) {
		hdr.Set("Content-Security-Policy", "sandbox")
	}
	if ctx.IsHead() {
		closeFile(f)
		hdr.SetContentLength(int(size))
		return
	}
	if data != nil {
		ctx.Response.SetBodyRaw(data[start : start+length]) // never modified once cached
		return
	}
	if start > 0 {
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			f.Close()
			h.log.Warn("seek file", "path", rep.path, "error", err)
			fail(ctx, fasthttp.StatusInternalServerError)
			return
		}
	}
	// fasthttp closes the file after sending exactly length bytes from its
	// offset, with sendfile where the connection allows.
	ctx.Response.SetBodyStream(f, int(length))
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// choose swaps rep for a precompressed sibling the client accepts, br
// before gzip at equal preference, and reports whether any sibling exists
// (the answer then depends on Accept-Encoding either way).
func choose(root, rel string, rep *representation, acceptEncoding []byte) (vary bool) {
	brPath, brFi, hasBr := sibling(root, rel, rep.path, ".br")
	gzPath, gzFi, hasGz := sibling(root, rel, rep.path, ".gz")
	if !hasBr && !hasGz {
		return false
	}
	qbr, qgz := acceptQ(acceptEncoding)
	switch {
	case hasBr && qbr > 0 && (qbr >= qgz || !hasGz):
		*rep = representation{path: brPath, fi: brFi, encoding: "br"}
	case hasGz && qgz > 0:
		*rep = representation{path: gzPath, fi: gzFi, encoding: "gzip"}
	}
	return true
}

// precompressed reports whether the request names a compressed file itself,
// which is served as it is, never looked up with another suffix.
func precompressed(rel string) bool {
	switch extension(rel) {
	case ".br", ".gz":
		return true
	}
	return false
}

// etag is strong: size and modification time in nanoseconds, plus the
// encoding, so each representation has its own.
func etag(fi fs.FileInfo, encoding string) string {
	b := make([]byte, 0, 48)
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(fi.Size()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(fi.ModTime().UnixNano()), 16)
	switch encoding {
	case "br":
		b = append(b, "-br"...)
	case "gzip":
		b = append(b, "-gz"...)
	}
	b = append(b, '"')
	return string(b)
}

// fail answers status with its reason phrase as a plain text body.
func fail(ctx *fasthttp.RequestCtx, status int) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentType(textPlain)
	ctx.Response.SetBodyString(fasthttp.StatusMessage(status))
}
