package serve

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hurricane-run/hurricane/static"
	"github.com/hurricane-run/hurricane/worker"
)

// Files says which of the project's files Go serves, from its settings.
type Files struct {
	Static, Media bool // --static, --media
	StaticURL     string
	StaticRoot    string
	MediaURL      string
	MediaRoot     string
	// With DEBUG=True and django.contrib.staticfiles installed, static files
	// are found through Django's finders, as runserver does.
	Debug          bool
	StaticFilesApp bool
}

// mounts turns the settings into static mounts, or an error that names the
// setting to fix.
func (f Files) mounts(pool *worker.Pool) ([]static.Mount, error) {
	var ms []static.Mount
	if f.Static {
		prefix, err := urlPrefix("STATIC_URL", f.StaticURL)
		if err != nil {
			return nil, err
		}
		m := static.Mount{Prefix: prefix, Root: f.StaticRoot}
		if f.Debug && f.StaticFilesApp {
			m.Root = "" // runserver serves from the finders, not STATIC_ROOT
			m.Finder = poolFinder{pool}
		} else if f.StaticRoot == "" {
			return nil, fmt.Errorf("--static needs STATIC_ROOT: set it in the Django settings and run \"python manage.py collectstatic\"")
		}
		ms = append(ms, m)
	}
	if f.Media {
		prefix, err := urlPrefix("MEDIA_URL", f.MediaURL)
		if err != nil {
			return nil, err
		}
		if f.MediaRoot == "" {
			return nil, fmt.Errorf("--media needs MEDIA_ROOT: set it in the Django settings (1.6.2 served the working directory then)")
		}
		ms = append(ms, static.Mount{Prefix: prefix, Root: f.MediaRoot, Media: true})
	}
	for i := range ms {
		if ms[i].Root != "" && !filepath.IsAbs(ms[i].Root) {
			abs, err := filepath.Abs(ms[i].Root)
			if err != nil {
				return nil, err
			}
			ms[i].Root = abs
		}
	}
	return ms, nil
}

// urlPrefix makes a local URL prefix of STATIC_URL or MEDIA_URL ("static/"
// → "/static/"); a full URL (a CDN) cannot be served from here.
func urlPrefix(setting, u string) (string, error) {
	if u == "" {
		return "", fmt.Errorf("%s is not set: set it in the Django settings", setting)
	}
	if strings.Contains(u, "://") || strings.HasPrefix(u, "//") {
		return "", fmt.Errorf("%s is %q, a full URL: those files are served elsewhere; drop the flag or set a local path", setting, u)
	}
	return "/" + strings.Trim(u, "/") + "/", nil
}

// poolFinder asks a worker's staticfiles finders.
type poolFinder struct{ pool *worker.Pool }

func (f poolFinder) Find(ctx context.Context, rel string) (string, bool, error) {
	p := f.pool.Next()
	if p == nil {
		return "", false, worker.ErrNoWorker
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return p.FindStatic(ctx, rel)
}
