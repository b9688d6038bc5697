// Package static serves Django's STATIC_ROOT and MEDIA_ROOT straight from Go
// (SPEC §2), so file requests never reach a Python worker.
//
// A Handler holds one Mount per directory and answers every request whose
// raw path starts with a mount's prefix, GET and HEAD only. The answer is
// what a CDN in front expects: a Content-Type from an embedded MIME table
// (the same on every host, never /etc/mime.types), a strong ETag and
// Last-Modified with 304s, single byte ranges (206/416), and precompressed
// ".br"/".gz" siblings for clients that accept them, with
// "Vary: Accept-Encoding" whenever a sibling exists.
//
// Nothing is indexed at startup: each request stats and opens its file, so a
// new collectstatic or upload is served at once; the root's own symlinks are
// re-resolved at most once a second.
//
// The raw path is decoded here, not by fasthttp, and refused before any file
// system access when it is malformed (400: bad percent escapes, NUL and
// other control bytes, invalid UTF-8) or could name something else than a
// file below the root (404: empty, "." and ".." segments, encoded "/" or
// "\", raw "\", "%25" that a second decoding layer would turn into an
// escape, drive letters). What remains is joined to the root and resolved
// with filepath.EvalSymlinks; the result must still lie inside the resolved
// root and be a regular file. Symlinks within the root are followed,
// symlinks out of it, directories, devices and sockets get 404. An encoded
// dot inside a name ("app%2Ecss") is the same URL as "app.css" (RFC 3986)
// and is served as such; it can never form a "." or ".." segment.
//
// Caching: a static name hashed by ManifestStaticFilesStorage
// ("app.3f2a9b1c4d5e.css") never changes, so it gets
// "public, max-age=31536000, immutable". Any other static file and every
// media file gets "public, max-age=60": long enough to spare the origin
// under load, short enough that a new collectstatic or a replaced upload
// shows within a minute; media names are never treated as hashed, because
// an upload can be deleted and another stored under the same name. Files
// found through Django's finders (DEBUG=True) get "no-cache", so a developer
// sees every edit on reload while 304s keep it cheap.
//
// Media files are written by users, so every media response carries
// "X-Content-Type-Options: nosniff", and HTML and XML types (SVG included)
// also "Content-Security-Policy: sandbox": an uploaded page or image cannot
// run script on the site's origin.
package static
