package static

import (
	"io/fs"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// notModified applies If-None-Match or, only when that is absent,
// If-Modified-Since at second precision (RFC 9110 §13.2.2).
func notModified(req *fasthttp.RequestHeader, tag string, fi fs.FileInfo) bool {
	if inm := req.Peek("If-None-Match"); len(inm) > 0 {
		return etagListMatch(string(inm), tag)
	}
	if ims := req.Peek("If-Modified-Since"); len(ims) > 0 {
		t, err := http.ParseTime(string(ims))
		return err == nil && fi.ModTime().Unix() <= t.Unix()
	}
	return false
}

// etagListMatch reports whether a list of entity tags, or "*", matches tag
// by weak comparison: a W/ prefix is ignored.
func etagListMatch(list, tag string) bool {
	s := list
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return false
		}
		if s[0] == '*' {
			return true
		}
		s = strings.TrimPrefix(s, "W/")
		if s == "" || s[0] != '"' {
			return false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return false
		}
		if s[:end+2] == tag {
			return true
		}
		s = s[end+2:]
	}
}

// ifRange reports whether a Range may be honoured: there is no If-Range, or
// it names the current representation by strong ETag or exact date.
func ifRange(value []byte, tag string, fi fs.FileInfo) bool {
	v := strings.TrimSpace(string(value))
	switch {
	case v == "":
		return len(value) == 0
	case strings.HasPrefix(v, "W/"):
		return false // a weak tag never validates a range
	case v[0] == '"':
		return v == tag
	}
	t, err := http.ParseTime(v)
	return err == nil && t.Unix() == fi.ModTime().Unix()
}

type rangeKind int

const (
	rangeIgnore        rangeKind = iota // answer the whole file
	rangeOne                            // answer start and length with 206
	rangeUnsatisfiable                  // answer 416
)

// parseRange reads a single byte range against size. Several ranges, other
// units and malformed specs are ignored (RFC 9110 §14.2 allows it), so the
// whole file is answered; a well-formed range starting past the end, or an
// empty suffix, is unsatisfiable.
func parseRange(h string, size int64) (start, length int64, kind rangeKind) {
	h = strings.TrimSpace(h)
	if len(h) < 6 || !strings.EqualFold(h[:6], "bytes=") {
		return 0, 0, rangeIgnore
	}
	spec := strings.TrimSpace(h[6:])
	if strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, rangeIgnore
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, rangeIgnore
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, ok := digits(last)
		switch {
		case !ok:
			return 0, 0, rangeIgnore
		case n == 0 || size == 0:
			return 0, 0, rangeUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, rangeOne
	}
	a, ok := digits(first)
	if !ok {
		return 0, 0, rangeIgnore
	}
	b := int64(math.MaxInt64)
	if last != "" {
		if b, ok = digits(last); !ok || b < a {
			return 0, 0, rangeIgnore
		}
	}
	if a >= size {
		return 0, 0, rangeUnsatisfiable
	}
	b = min(b, size-1)
	return a, b - a + 1, rangeOne
}

// digits parses a non-empty run of ASCII digits, saturating at MaxInt64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// acceptQ reads the q-values Accept-Encoding gives br and gzip (x-gzip
// counts as gzip, "*" covers either when not named). No header means the
// identity encoding only: a client that never asked gets plain bytes.
func acceptQ(h []byte) (br, gzip float64) {
	var star float64
	var seenBr, seenGzip, seenStar bool
	for elem := range strings.SplitSeq(string(h), ",") {
		coding, params, _ := strings.Cut(elem, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q, ok := qValue(params)
		if !ok {
			continue
		}
		switch coding {
		case "br":
			br, seenBr = q, true
		case "gzip", "x-gzip":
			gzip, seenGzip = q, true
		case "*":
			star, seenStar = q, true
		}
	}
	if !seenBr && seenStar {
		br = star
	}
	if !seenGzip && seenStar {
		gzip = star
	}
	return br, gzip
}

// qValue finds q in ";q=0.5"-style parameters: 1 when absent, ok=false when
// malformed.
func qValue(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 || math.IsNaN(q) {
			return 0, false
		}
		return q, true
	}
	return 1, true
}
