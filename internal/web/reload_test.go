package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

// The admin token read through TokenFunc follows a change at once: set,
// changed (the old one refused), cleared (403).
func TestAdmin_TokenFunc(t *testing.T) {
	var token atomic.Value
	token.Store("")
	_, base := startServer(t, web.Options{Admin: web.AdminOptions{
		TokenFunc: func() string { return token.Load().(string) },
		Silences:  &memSilences{},
		Names:     func() ([]string, []string) { return []string{"api"}, nil },
		Now:       func() time.Time { return silenceNow },
	}})
	url := base + "/api/v1/silences"
	if r := call(t, "GET", url, "one", ""); r.code != http.StatusForbidden {
		t.Errorf("no token: %d, want 403", r.code)
	}
	token.Store("one")
	if r := call(t, "GET", url, "one", ""); r.code != http.StatusOK {
		t.Errorf("token one: %d %s", r.code, r.body)
	}
	token.Store("two")
	if r := call(t, "GET", url, "one", ""); r.code != http.StatusUnauthorized {
		t.Errorf("the old token after a change: %d, want 401", r.code)
	}
	if r := call(t, "GET", url, "two", ""); r.code != http.StatusOK {
		t.Errorf("token two: %d %s", r.code, r.body)
	}
	token.Store("")
	if r := call(t, "GET", url, "two", ""); r.code != http.StatusForbidden {
		t.Errorf("token cleared: %d, want 403", r.code)
	}
}

// The page's title read through TitleFunc follows a change.
func TestStatusPage_TitleFunc(t *testing.T) {
	var title atomic.Value
	title.Store("Home server")
	o := pageOptions(pageStatus())
	o.Page.TitleFunc = func() string { return title.Load().(string) }
	_, base := startServer(t, o)
	if r := do(t, "GET", base+"/"); !strings.Contains(r.body, "<title>Home server</title>") {
		t.Errorf("page title before: %q", r.body[:min(len(r.body), 200)])
	}
	title.Store("Cabin")
	if r := do(t, "GET", base+"/"); !strings.Contains(r.body, "<title>Cabin</title>") {
		t.Errorf("page title after a change: %q", r.body[:min(len(r.body), 200)])
	}
	title.Store("")
	if r := do(t, "GET", base+"/"); !strings.Contains(r.body, "<title>pollerd status</title>") {
		t.Errorf("empty title: %q", r.body[:min(len(r.body), 200)])
	}
}
