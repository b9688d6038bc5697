package static

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Mount serves one directory at one URL prefix.
type Mount struct {
	Prefix string // URL prefix with leading and trailing slash, e.g. "/static/"
	Root   string // directory; must exist unless Finder is set
	Media  bool   // user uploads: nosniff on every answer, active types sandboxed
	// Finder, when set, is asked for files that are not under Root
	// (Django's staticfiles finders with DEBUG=True, resolved by a worker);
	// the file it names is served with the same rules.
	Finder Finder
}

// Finder resolves a relative static path to an absolute file path
// (ok=false: not found).
type Finder interface {
	Find(ctx context.Context, rel string) (path string, ok bool, err error)
}

// RootError is a mount whose root is missing or not a directory.
type RootError struct {
	Setting string // STATIC_ROOT or MEDIA_ROOT
	Root    string
	Err     error // wraps fs.ErrNotExist or ErrNotDir when it is one of those
}

// ErrNotDir means a mount's root is a file.
var ErrNotDir = errors.New("not a directory")

func (e *RootError) Error() string {
	switch {
	case e.Root == "":
		return fmt.Sprintf("%s is not set: set it in the Django settings", e.Setting)
	case errors.Is(e.Err, fs.ErrNotExist) && e.Setting == "STATIC_ROOT":
		return fmt.Sprintf("STATIC_ROOT %s does not exist: run \"python manage.py collectstatic\" or fix STATIC_ROOT", e.Root)
	case errors.Is(e.Err, fs.ErrNotExist):
		return fmt.Sprintf("%s %s does not exist: create it or fix %s", e.Setting, e.Root, e.Setting)
	case errors.Is(e.Err, ErrNotDir):
		return fmt.Sprintf("%s %s is not a directory: point %s at one", e.Setting, e.Root, e.Setting)
	}
	return fmt.Sprintf("check %s %s: %v", e.Setting, e.Root, e.Err)
}

func (e *RootError) Unwrap() error { return e.Err }

// Handler answers the requests under its mounts.
type Handler struct {
	mounts []*mount // longest prefix first
	log    *slog.Logger
	now    func() time.Time
	small  smallCache
}

// mount is a Mount with its root's resolved path, refreshed once a second
// so a root that is itself a symlink may be switched (a new release) without
// a restart.
type mount struct {
	Mount
	route string // Prefix + "*"
	real  atomic.Pointer[realRoot]
}

type realRoot struct {
	path string // "" while the root does not resolve
	at   time.Time
}

// rootTTL is how long a resolved root is trusted.
const rootTTL = 500 * time.Millisecond

// findTimeout bounds one question to the finders.
const findTimeout = 10 * time.Second

// New checks the mounts and builds a Handler. A root that does not exist or
// is not a directory is a *RootError naming the Django setting, except that
// a mount with a Finder may lack its root (DEBUG=True before any
// collectstatic).
func New(mounts []Mount, log *slog.Logger) (*Handler, error) {
	h := &Handler{log: log.With("component", "static"), now: time.Now}
	seen := map[string]bool{}
	for _, m := range mounts {
		setting := "STATIC_ROOT"
		if m.Media {
			setting = "MEDIA_ROOT"
		}
		if !strings.HasPrefix(m.Prefix, "/") || !strings.HasSuffix(m.Prefix, "/") || m.Prefix == "/" {
			return nil, fmt.Errorf("mount %s: prefix %q must be a path that starts and ends with \"/\", like \"/static/\" (check %s)", setting, m.Prefix, strings.Replace(setting, "ROOT", "URL", 1))
		}
		if seen[m.Prefix] {
			return nil, fmt.Errorf("mount %s: prefix %q is already mounted (STATIC_URL and MEDIA_URL must differ)", setting, m.Prefix)
		}
		seen[m.Prefix] = true
		mm := &mount{Mount: m, route: m.Prefix + "*"}
		if m.Root != "" {
			abs, err := filepath.Abs(m.Root)
			if err != nil {
				return nil, &RootError{Setting: setting, Root: m.Root, Err: err}
			}
			mm.Root = abs
		}
		if err := checkRoot(mm.Root); err != nil {
			if m.Finder == nil {
				return nil, &RootError{Setting: setting, Root: mm.Root, Err: err}
			}
			h.log.Info("root missing, using the finders", "prefix", m.Prefix, "root", mm.Root, "error", err)
		} else {
			h.log.Info("serving files", "prefix", m.Prefix, "root", mm.Root, "media", m.Media, "finder", m.Finder != nil)
		}
		h.mounts = append(h.mounts, mm)
	}
	sort.SliceStable(h.mounts, func(i, j int) bool { return len(h.mounts[i].Prefix) > len(h.mounts[j].Prefix) })
	return h, nil
}

func checkRoot(root string) error {
	if root == "" {
		return fs.ErrNotExist
	}
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return ErrNotDir
	}
	return nil
}

// Handle answers the request if its path is under a mount, including 400,
// 404 and 405 answers, and reports whether it did. It reads the raw path,
// never fasthttp's normalised one, so encoded traversal is seen and refused.
func (h *Handler) Handle(ctx *fasthttp.RequestCtx) bool {
	_, ok := h.HandleMount(ctx)
	return ok
}

// HandleMount is Handle, also naming the mount that answered by its
// route pattern ("/static/*"), for metric labels.
func (h *Handler) HandleMount(ctx *fasthttp.RequestCtx) (string, bool) {
	raw := ctx.URI().PathOriginal()
	if i := bytes.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	for _, m := range h.mounts {
		if len(raw) >= len(m.Prefix) && string(raw[:len(m.Prefix)]) == m.Prefix {
			h.serve(ctx, m, string(raw[len(m.Prefix):]))
			return m.route, true
		}
	}
	return "", false
}

// root is the mount's root with symlinks resolved, "" when it does not
// resolve to a directory.
func (h *Handler) root(m *mount) string {
	now := h.now()
	if r := m.real.Load(); r != nil && now.Sub(r.at) < rootTTL && !now.Before(r.at) {
		return r.path
	}
	r := &realRoot{at: now}
	if m.Root != "" {
		if p, err := filepath.EvalSymlinks(m.Root); err == nil {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				r.path = p
			}
		}
	}
	m.real.Store(r)
	return r.path
}

// find asks the mount's finder for rel and checks what it names: 0 with the
// file, 404, or 503 when the finder failed (a worker being replaced).
func (h *Handler) find(ctx *fasthttp.RequestCtx, m *mount, rel string) (string, fs.FileInfo, int) {
	fctx, cancel := context.WithTimeout(ctx, findTimeout)
	defer cancel()
	path, ok, err := m.Finder.Find(fctx, rel)
	if err != nil {
		h.log.Warn("find static file", "path", rel, "error", err)
		return "", nil, fasthttp.StatusServiceUnavailable
	}
	if !ok {
		return "", nil, fasthttp.StatusNotFound
	}
	if !filepath.IsAbs(path) {
		h.log.Warn("finder answered a relative path", "path", rel, "file", path)
		return "", nil, fasthttp.StatusNotFound
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", nil, fasthttp.StatusNotFound
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil, fasthttp.StatusNotFound
	}
	return real, fi, 0
}
