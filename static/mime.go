package static

import "strings"

// octetStream is the type of a name the table does not know.
const octetStream = "application/octet-stream"

// mimeTypes maps lowercase extensions to Content-Type. It is embedded so the
// answer is the same on every host; Go's mime package would consult
// /etc/mime.types and friends.
var mimeTypes = map[string]string{
	// Text and documents.
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".xhtml":       "application/xhtml+xml",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".jsonld":      "application/ld+json",
	".webmanifest": "application/manifest+json",
	".xml":         "text/xml; charset=utf-8",
	".xsl":         "text/xml; charset=utf-8",
	".rss":         "application/rss+xml",
	".atom":        "application/atom+xml",
	".txt":         "text/plain; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".tsv":         "text/tab-separated-values; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".ics":         "text/calendar; charset=utf-8",
	".vtt":         "text/vtt; charset=utf-8",
	".pdf":         "application/pdf",
	".rtf":         "application/rtf",
	".epub":        "application/epub+zip",
	".doc":         "application/msword",
	".docx":        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":         "application/vnd.ms-excel",
	".xlsx":        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".ppt":         "application/vnd.ms-powerpoint",
	".pptx":        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":         "application/vnd.oasis.opendocument.text",
	".ods":         "application/vnd.oasis.opendocument.spreadsheet",
	".odp":         "application/vnd.oasis.opendocument.presentation",

	// Images.
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".apng": "image/apng",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
	".avif": "image/avif",
	".jxl":  "image/jxl",
	".ico":  "image/x-icon",
	".bmp":  "image/bmp",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".heic": "image/heic",

	// Fonts.
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".otf":   "font/otf",
	".eot":   "application/vnd.ms-fontobject",

	// Audio and video.
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".webm": "video/webm",
	".ogv":  "video/ogg",
	".mov":  "video/quicktime",
	".mpeg": "video/mpeg",
	".mpg":  "video/mpeg",
	".avi":  "video/x-msvideo",
	".mkv":  "video/x-matroska",
	".mp3":  "audio/mpeg",
	".m4a":  "audio/mp4",
	".aac":  "audio/aac",
	".ogg":  "audio/ogg",
	".oga":  "audio/ogg",
	".opus": "audio/ogg",
	".wav":  "audio/wav",
	".flac": "audio/flac",

	// Archives and binaries.
	".zip":  "application/zip",
	".gz":   "application/gzip",
	".tgz":  "application/gzip",
	".tar":  "application/x-tar",
	".zst":  "application/zstd",
	".7z":   "application/x-7z-compressed",
	".wasm": "application/wasm",
}

// contentType is the Content-Type for a file name, by its last extension.
func contentType(name string) string {
	ext := extension(name)
	if t, ok := mimeTypes[ext]; ok {
		return t
	}
	if t, ok := mimeTypes[strings.ToLower(ext)]; ok {
		return t
	}
	return octetStream
}

// extension is the last ".ext" of the base name, "" when there is none.
func extension(name string) string {
	for i := len(name) - 1; i >= 0 && name[i] != '/'; i-- {
		if name[i] == '.' {
			return name[i:]
		}
	}
	return ""
}

// active reports whether a browser would run script in a document of this
// type: HTML, and XML of any flavour (SVG, XHTML, RSS can carry script or
// XSLT). Uploads of these types are sandboxed.
func active(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case "text/html", "text/xml", "application/xml", "application/xhtml+xml", "image/svg+xml":
		return true
	}
	return strings.HasSuffix(mt, "+xml")
}

// hashed reports whether the base name carries the 12 hex digits
// ManifestStaticFilesStorage inserts before the extension
// ("app.3f2a9b1c4d5e.css", also "app.3f2a9b1c4d5e.css.gz"): the pattern
// `\.[0-9a-f]{12}\.[^/]+$` on the base name.
func hashed(name string) bool {
	base := name[strings.LastIndexByte(name, '/')+1:]
	for i := 0; i+14 < len(base); i++ {
		if base[i] != '.' || base[i+13] != '.' {
			continue
		}
		if isLowerHex(base[i+1 : i+13]) {
			return true
		}
	}
	return false
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
