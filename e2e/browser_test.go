package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// A real browser loads Django's admin login page from "hurricane serve
// --static": the admin stylesheet applies and no request fails. Debian's
// chromium is driven over the DevTools protocol (chromedp); scripts/test
// installs it.

const browserTimeout = 30 * time.Second

// adminHeaderBg is #header's background in the admin's base.css (--header-bg:
// var(--secondary), #417690) on Django 4.2 and 5.2, in light and dark
// themes alike.
const adminHeaderBg = "rgb(65, 118, 144)"

// chromiumPath finds the browser; without one the test skips, or fails
// with HURRICANE_E2E_REQUIRED=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
		t.Fatal("chromium is not installed but HURRICANE_E2E_REQUIRED=1 (apt-get install chromium; scripts/test does)")
	}
	t.Skip("chromium is not installed; skipping the browser test")
	return ""
}

// netEvent is one request the page made, as the browser saw it.
type netEvent struct {
	url       string
	status    int64  // 0 until a response arrived
	failed    string // the error text of a failed load
	done      bool   // finished or failed
	requestID string // the X-Request-ID header of the answer
}

// netLog collects the page's requests from DevTools events.
type netLog struct {
	mu   sync.Mutex
	reqs map[network.RequestID]*netEvent
	ids  []network.RequestID // in order of first sight
}

func (l *netLog) get(id network.RequestID) *netEvent {
	e := l.reqs[id]
	if e == nil {
		e = &netEvent{}
		l.reqs[id] = e
		l.ids = append(l.ids, id)
	}
	return e
}

func (l *netLog) handle(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.get(ev.RequestID).url = ev.Request.URL
	case *network.EventResponseReceived:
		e := l.get(ev.RequestID)
		e.url = ev.Response.URL
		e.status = ev.Response.Status
		for k, v := range ev.Response.Headers {
			if strings.EqualFold(k, "X-Request-ID") {
				e.requestID = fmt.Sprint(v)
			}
		}
	case *network.EventLoadingFinished:
		l.get(ev.RequestID).done = true
	case *network.EventLoadingFailed:
		e := l.get(ev.RequestID)
		e.done = true
		e.failed = ev.ErrorText
		if ev.Canceled {
			e.failed += " (canceled)"
		}
		if ev.BlockedReason != "" {
			e.failed += " (blocked: " + string(ev.BlockedReason) + ")"
		}
	}
}

// snapshot copies the requests seen so far, in order.
func (l *netLog) snapshot() []netEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]netEvent, 0, len(l.ids))
	for _, id := range l.ids {
		out = append(out, *l.reqs[id])
	}
	return out
}

// browserErrors keeps chromedp's own error messages for the failure report
// (t.Logf must not be called once the test has returned).
type browserErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (b *browserErrors) errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) < 50 {
		b.msgs = append(b.msgs, fmt.Sprintf(format, args...))
	}
}

// pageStyle is what the page reports of its computed style.
type pageStyle struct {
	HeaderBg      string   `json:"headerBg"`
	HeaderDisplay string   `json:"headerDisplay"`
	BodyFont      string   `json:"bodyFont"`
	Sheets        []string `json:"sheets"`
}

func TestBrowserAdminStyles(t *testing.T) {
	requirePython(t)
	chrome := chromiumPath(t)
	root := filepath.Join(t.TempDir(), "static")
	collectStatic(t, root)
	s := startLC(t, serverConfig{env: []string{"DEMO_STATIC_ROOT=" + root}}, "--static")

	// Everything, browser start included, is bounded; the page itself gets
	// browserTimeout.
	outer, cancelOuter := context.WithTimeout(context.Background(), 2*browserTimeout)
	defer cancelOuter()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(outer, opts...)
	defer cancelAlloc()
	errs := &browserErrors{}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(errs.errorf))
	defer cancelBrowser()
	t.Cleanup(func() {
		if t.Failed() {
			errs.mu.Lock()
			defer errs.mu.Unlock()
			if len(errs.msgs) > 0 {
				t.Logf("chromedp errors:\n%s", strings.Join(errs.msgs, "\n"))
			}
		}
	})

	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser and opens a tab
		t.Fatalf("starting %s: %v", chrome, err)
	}
	t.Logf("browser started in %s", time.Since(start).Round(time.Millisecond))

	nl := &netLog{reqs: map[network.RequestID]*netEvent{}}
	if err := chromedp.Listen(bctx, nl.handle); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(bctx, browserTimeout)
	defer cancel()
	page := s.url("/admin/login/")
	start = time.Now()
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}},
			})
			return err
		}),
		chromedp.Navigate(page), // returns once the load event fired
		chromedp.WaitVisible(chromedp.CSS("#header")),
	)
	if err != nil {
		t.Fatalf("loading %s: %v; requests so far: %+v", page, err, nl.snapshot())
	}
	style, err := chromedp.Run(ctx, chromedp.Evaluate[pageStyle](`(() => {
			const h = document.getElementById("header");
			return {
				headerBg: getComputedStyle(h).backgroundColor,
				headerDisplay: getComputedStyle(h).display,
				bodyFont: getComputedStyle(document.body).fontFamily,
				sheets: Array.from(document.styleSheets, s => s.href || ""),
			};
		})()`))
	if err != nil {
		t.Fatalf("reading the computed style: %v", err)
	}
	t.Logf("page loaded and styled in %s: header background %s, display %s, body font %s; stylesheets %q",
		time.Since(start).Round(time.Millisecond), style.HeaderBg, style.HeaderDisplay, style.BodyFont, style.Sheets)

	// (a) The admin stylesheet applied.
	if style.HeaderBg != adminHeaderBg {
		t.Errorf("#header background-color %q, want %q: the admin stylesheet did not apply", style.HeaderBg, adminHeaderBg)
	}
	if style.HeaderDisplay != "flex" {
		t.Errorf("#header display %q, want flex (admin base.css)", style.HeaderDisplay)
	}

	// (b) Every request the page made finished, none failed, and the
	// static ones were answered 200 by hurricane. Requests started after
	// the load event (none are expected) get a bounded wait.
	var reqs []netEvent
	deadline := time.Now().Add(5 * time.Second)
	for {
		reqs = nl.snapshot()
		pending := 0
		for _, r := range reqs {
			if !r.done {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d requests still unfinished 5s after the load event: %+v", pending, reqs)
			break
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	staticOK := map[string]bool{}
	for _, r := range reqs {
		t.Logf("browser request: %d %s %s", r.status, r.url, r.failed)
		if r.url == s.url("/favicon.ico") {
			// The browser asks for it on its own; the page links no icon
			// and the demo has none, so Django answers 404.
			continue
		}
		if r.failed != "" {
			t.Errorf("request failed in the browser: %s: %s", r.url, r.failed)
		}
		if r.status >= 400 {
			t.Errorf("request answered %d: %s", r.status, r.url)
		}
		if strings.HasPrefix(r.url, s.url("/static/")) && r.status == 200 {
			if r.requestID == "" {
				t.Errorf("%s has no X-Request-ID: not answered by hurricane?", r.url)
			}
			staticOK[strings.TrimPrefix(r.url, s.base)] = true
		}
	}
	if len(staticOK) == 0 {
		t.Fatalf("the page loaded no /static/ file from hurricane with status 200; requests: %+v", reqs)
	}
	for _, sheet := range style.Sheets {
		if p := strings.TrimPrefix(sheet, s.base); strings.HasPrefix(p, "/static/") && !staticOK[p] {
			t.Errorf("stylesheet %s is not among the static files answered 200: %v", sheet, staticOK)
		}
	}
	// Hurricane's access log agrees: Go answered them, no worker did.
	for path := range staticOK {
		rec := waitLog(t, s, 5*time.Second, "for "+path, func(r record) bool {
			return r.str("msg") == "request" && r.str("path") == path
		})
		if st, _ := rec.num("status"); st != 200 {
			t.Errorf("access log status %v for %s, want 200", st, path)
		}
		if w, _ := rec.num("worker"); w != -1 {
			t.Errorf("access log worker %v for %s, want -1 (served by Go)", w, path)
		}
	}
}
