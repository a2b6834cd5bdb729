package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// The status page at GET /: the status document rendered on the server for
// people, with html/template (which escapes everything it prints) and its
// stylesheet embedded and inlined, so the page needs no JavaScript and makes
// no request of its own.

// PageDays is how many days the uptime bar of each target covers.
const PageDays = 90

// PageOptions turns the status page on. Options.Page nil means no page: GET /
// is then the JSON 404 of every unknown path.
type PageOptions struct {
	Title string // the page's heading; "" → "pollerd status"
	// TitleFunc, when set, is read at each request instead of Title (a
	// reload changes it); "" → "pollerd status".
	TitleFunc func() string
	Days      DailySource // the uptime bars; nil → every day shows "no data"
	Now       func() time.Time
}

// DailySource gives each target's probes per UTC day over the last days
// days, up to and including now's (so far): entry i is the day that starts
// days-1-i days before the start of now's UTC day, so the last entry is
// today. Days without probes are zero; a target with none is absent.
// *store.DB has this method; see Day for how it satisfies the interface.
type DailySource interface {
	DailyUptime(ctx context.Context, days int, now time.Time) (map[string][]Day, error)
}

// Day is one target's probes and failures on one UTC day. It is an alias of
// an unnamed struct type, so a source declaring the same alias (its own
// `type DayCounts = struct{ Probes, Failures int64 }`) satisfies
// DailySource with no adapter while web imports nothing internal.
type Day = struct {
	Probes, Failures int64
}

//go:embed page/status.html page/style.css
var pageFS embed.FS

var (
	pageTmpl = template.Must(template.New("status.html").Funcs(template.FuncMap{
		"css": func() template.CSS { return template.CSS(pageCSS) },
	}).ParseFS(pageFS, "page/status.html"))
	pageCSS = mustRead("page/style.css")
	// pageCSP forbids every script and every fetch; the one inline
	// stylesheet is allowed by its hash.
	pageCSP = "default-src 'none'; style-src '" + cssHash(pageCSS) +
		"'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

func mustRead(name string) string {
	b, err := pageFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cssHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

type pageHandler struct {
	opts   PageOptions
	status StatusSource
	log    *zap.Logger
}

func newPageHandler(o *PageOptions, status StatusSource, log *zap.Logger) *pageHandler {
	opts := *o
	if opts.Title == "" {
		opts.Title = "pollerd status"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &pageHandler{opts: opts, status: status, log: log}
}

// ServeHTTP renders the page into a buffer first, so a template error is a
// clean 500 and not half a page.
func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	st, err := h.status.Status(ctx)
	if err != nil {
		h.log.Warn("status unavailable", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "status unavailable")
		return
	}
	now := h.opts.Now()
	var days map[string][]Day
	historyOK := true
	if h.opts.Days != nil {
		// The live state matters more than the history: a failing history
		// leaves grey bars and a note, not an error page.
		if days, err = h.opts.Days.DailyUptime(ctx, PageDays, now); err != nil {
			h.log.Warn("daily uptime unavailable", zap.Error(err))
			historyOK = false
		}
	}
	var buf bytes.Buffer
	title := h.opts.Title
	if h.opts.TitleFunc != nil {
		if title = h.opts.TitleFunc(); title == "" {
			title = "pollerd status"
		}
	}
	if err := pageTmpl.Execute(&buf, buildPage(title, sanitize(st), days, historyOK, now)); err != nil {
		h.log.Error("status page", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
