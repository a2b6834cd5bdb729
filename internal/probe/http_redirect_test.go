package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestHTTP_RedirectsAsClient holds the direct path's redirects to
// http.Client's: the same requests reach the servers (method, Host, path,
// the headers that matter, body) and the probe ends the same way.
func TestHTTP_RedirectsAsClient(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hs []string
		for _, k := range []string{"Authorization", "Cookie", "Content-Type", "Referer", "X-Probe", "User-Agent"} {
			if v := r.Header.Get(k); v != "" {
				hs = append(hs, k+"="+v)
			}
		}
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s %s %v body=%q", r.Method, r.Host, r.URL.RequestURI(), hs, body))
		mu.Unlock()
	}
	// other is a different host (localhost, not 127.0.0.1): sensitive
	// headers must not reach it.
	other := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.URL.Path == "/back" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusTemporaryRedirect)
			return
		}
		_, _ = io.WriteString(w, "final")
	})
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var main string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/307":
			http.Redirect(w, r, "/303?x=1", http.StatusTemporaryRedirect)
		case "/303":
			http.Redirect(w, r, "308", http.StatusSeeOther)
		case "/308":
			w.Header().Set("Location", otherURL+"/back?to="+url.QueryEscape(main+"/end"))
			w.WriteHeader(http.StatusPermanentRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/noloc":
			w.WriteHeader(http.StatusFound)
		case "/badloc":
			w.Header().Set("Location", "ftp://example.invalid/")
			w.WriteHeader(http.StatusFound)
		default:
			_, _ = io.WriteString(w, "end")
		}
	})
	main = srv.URL
	hdr := http.Header{"Authorization": {"Bearer t"}, "Cookie": {"c=1"}, "Content-Type": {"text/plain"}, "X-Probe": {"p"}}
	cases := []struct {
		name string
		path string
		spec HTTPSpec
	}{
		{"chain POST", "/307", HTTPSpec{Method: "POST", Body: "hello", Headers: hdr, FollowRedirects: true}},
		{"chain GET with userinfo", "/307", HTTPSpec{FollowRedirects: true}},
		{"custom Host kept on relative", "/307", HTTPSpec{Headers: http.Header{"Host": {"h.example"}}, FollowRedirects: true}},
		{"loop", "/loop", HTTPSpec{FollowRedirects: true}},
		{"no location", "/noloc", HTTPSpec{FollowRedirects: true, Expect: Expect{Status: []StatusRange{{300, 399}}}}},
		{"bad scheme", "/badloc", HTTPSpec{FollowRedirects: true}},
		{"explicit referer", "/303", HTTPSpec{Headers: http.Header{"Referer": {"r"}}, FollowRedirects: true}},
	}
	client := newHTTPProber(false)
	client.viaClient = true
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(p *httpProber) (Result, []string) {
				mu.Lock()
				seen = nil
				mu.Unlock()
				raw := main + c.path
				if strings.Contains(c.name, "userinfo") {
					raw = strings.Replace(raw, "http://", "http://u:pw@", 1)
				}
				tg := target(t, raw)
				tg.Spec = c.spec
				r := p.probe(context.Background(), tg)
				mu.Lock()
				defer mu.Unlock()
				return r, slices.Clone(seen)
			}
			want, wantSeen := run(client)
			got, gotSeen := run(defaultHTTP)
			if got.OK != want.OK || got.StatusCode != want.StatusCode || got.Reason != want.Reason {
				t.Errorf("direct: ok=%v %d %q; http.Client: ok=%v %d %q", got.OK, got.StatusCode, got.Reason, want.OK, want.StatusCode, want.Reason)
			}
			if !slices.Equal(gotSeen, wantSeen) {
				t.Errorf("requests differ:\ndirect:\n  %s\nhttp.Client:\n  %s", strings.Join(gotSeen, "\n  "), strings.Join(wantSeen, "\n  "))
			}
			if testing.Verbose() {
				t.Logf("%d requests, %v %q", len(gotSeen), got.OK, got.Reason)
			}
		})
	}
}
