package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

// memSilences is an in-memory web.Silences.
type memSilences struct {
	mu   sync.Mutex
	list []web.Silence
	fail error
}

var _ web.Silences = (*memSilences)(nil)

func (m *memSilences) AddSilence(_ context.Context, s web.Silence) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.list = append(m.list, s)
	return nil
}

func (m *memSilences) ActiveSilences(_ context.Context, now time.Time) ([]web.Silence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []web.Silence
	for _, s := range m.list {
		if now.Before(s.EndsAt) {
			out = append(out, s)
		}
	}
	return out, m.fail
}

func (m *memSilences) DeleteSilence(_ context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range m.list {
		if s.ID == id && now.Before(s.EndsAt) {
			m.list = append(m.list[:i], m.list[i+1:]...)
			return nil
		}
	}
	return web.ErrSilenceNotFound
}

var silenceNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func adminServer(t *testing.T, token string, store *memSilences) string {
	t.Helper()
	_, base := startServer(t, web.Options{Admin: web.AdminOptions{
		Token:    token,
		Silences: store,
		Names:    func() ([]string, []string) { return []string{"api", "db"}, []string{"home"} },
		Now:      func() time.Time { return silenceNow },
	}})
	return base
}

func call(t *testing.T, method, url, token, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestAdmin_Silences(t *testing.T) {
	store := &memSilences{}
	base := adminServer(t, "s3cret", store)
	url := base + "/api/v1/silences"

	r := call(t, "POST", url, "s3cret", `{"targets": ["api"], "groups": ["home"], "duration": "1h", "comment": "deploy"}`)
	if r.code != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	var created struct{ ID, EndsAt string }
	if err := json.Unmarshal([]byte(r.body), &struct {
		ID     *string `json:"id"`
		EndsAt *string `json:"ends_at"`
	}{&created.ID, &created.EndsAt}); err != nil {
		t.Fatal(err)
	}
	if len(created.ID) != 12 || created.EndsAt != "2026-03-01T13:00:00Z" {
		t.Fatalf("created %+v", created)
	}

	r = call(t, "GET", url, "s3cret", "")
	var list struct {
		Silences []web.Silence `json:"silences"`
	}
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || r.code != 200 {
		t.Fatalf("GET: %d %s %v", r.code, r.body, err)
	}
	want := []web.Silence{{ID: created.ID, Targets: []string{"api"}, Groups: []string{"home"}, Comment: "deploy",
		StartsAt: silenceNow, EndsAt: silenceNow.Add(time.Hour)}}
	if !reflect.DeepEqual(list.Silences, want) {
		t.Fatalf("GET = %+v\nwant %+v", list.Silences, want)
	}

	if r = call(t, "DELETE", url+"/"+created.ID, "s3cret", ""); r.code != http.StatusNoContent || r.body != "" {
		t.Fatalf("DELETE: %d %q", r.code, r.body)
	}
	if r = call(t, "DELETE", url+"/"+created.ID, "s3cret", ""); r.code != http.StatusNotFound || !strings.Contains(r.body, `"error"`) {
		t.Fatalf("second DELETE: %d %s", r.code, r.body)
	}
	if r = call(t, "GET", url, "s3cret", ""); r.body != "{\"silences\":[]}\n" {
		t.Fatalf("empty list: %q", r.body)
	}
}

func TestAdmin_Errors(t *testing.T) {
	url := adminServer(t, "s3cret", &memSilences{}) + "/api/v1/silences"
	good := `{"targets": ["api"], "duration": "1h"}`
	tests := []struct {
		name, method, path, token, body string
		code                            int
		msg                             string
	}{
		{"no token", "POST", "", "", good, 401, "missing or wrong admin token"},
		{"wrong token", "GET", "", "s3cre", "", 401, "missing or wrong admin token"},
		{"wrong token on delete", "DELETE", "/abc", "nope", "", 401, "missing or wrong admin token"},
		{"no names", "POST", "", "s3cret", `{"duration": "1h"}`, 400, "name at least one target or group"},
		{"unknown target", "POST", "", "s3cret", `{"targets": ["api", "nope"], "duration": "1h"}`, 400, `no target named \"nope\"`},
		{"unknown group", "POST", "", "s3cret", `{"groups": ["cloud"], "duration": "1h"}`, 400, `no group named \"cloud\"`},
		{"no duration", "POST", "", "s3cret", `{"targets": ["api"]}`, 400, "duration is required"},
		{"bad duration", "POST", "", "s3cret", `{"targets": ["api"], "duration": "1 hour"}`, 400, "is not a duration"},
		{"zero duration", "POST", "", "s3cret", `{"targets": ["api"], "duration": "0s"}`, 400, "duration must be positive"},
		{"negative duration", "POST", "", "s3cret", `{"targets": ["api"], "duration": "-1h"}`, 400, "duration must be positive"},
		{"unknown field", "POST", "", "s3cret", `{"targets": ["api"], "duration": "1h", "endsAt": "x"}`, 400, "malformed JSON"},
		{"not json", "POST", "", "s3cret", `targets=api`, 400, "malformed JSON"},
		{"trailing data", "POST", "", "s3cret", good + `{}`, 400, "trailing data"},
		{"too big", "POST", "", "s3cret", `{"comment": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "body over"},
		{"unknown id", "DELETE", "/nope", "s3cret", "", 404, `no active silence \"nope\"`},
		{"method", "PUT", "", "s3cret", good, 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, url+tt.path, tt.token, tt.body)
			if r.code != tt.code || !strings.Contains(r.body, tt.msg) || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %s (%s), want %d with %q", tt.name, r.code, r.body, r.header.Get("Content-Type"), tt.code, tt.msg)
			}
			if tt.code == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAdmin_DisabledWithoutToken(t *testing.T) {
	url := adminServer(t, "", &memSilences{}) + "/api/v1/silences"
	for _, m := range []string{"GET", "POST", "DELETE"} {
		path := url
		if m == "DELETE" {
			path += "/abc"
		}
		for _, token := range []string{"", "anything"} {
			r := call(t, m, path, token, `{}`)
			if r.code != http.StatusForbidden || !strings.Contains(r.body, "api.admin_token") {
				t.Errorf("%s with token %q: %d %s, want 403", m, token, r.code, r.body)
			}
		}
	}
}

func TestAdmin_StoreFailure(t *testing.T) {
	url := adminServer(t, "s3cret", &memSilences{fail: errors.New("disk full")}) + "/api/v1/silences"
	if r := call(t, "POST", url, "s3cret", `{"targets": ["api"], "duration": "1h"}`); r.code != 500 || strings.Contains(r.body, "disk") {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	if r := call(t, "GET", url, "s3cret", ""); r.code != 500 {
		t.Fatalf("GET: %d %s", r.code, r.body)
	}
}

func FuzzAdmin_AddSilence(f *testing.F) {
	f.Add(`{"targets": ["api"], "duration": "1h"}`)
	f.Add(`{"groups": ["home"], "duration": "-5m", "comment": "x"}`)
	f.Add(`[]`)
	store := &memSilences{}
	s, err := web.New(web.Options{Addr: "127.0.0.1:0", Status: statusFunc(emptyStatus), Ready: alwaysReady,
		Admin: web.AdminOptions{Token: "t", Silences: store, Names: func() ([]string, []string) { return []string{"api"}, []string{"home"} }}})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	url := "http://" + s.Addr().String() + "/api/v1/silences"
	f.Fuzz(func(t *testing.T, body string) {
		r := call(t, "POST", url, "t", body)
		if r.code != 201 && r.code != 400 && r.code != 413 {
			t.Fatalf("%q: %d %s", body, r.code, r.body)
		}
		if !json.Valid([]byte(r.body)) {
			t.Fatalf("not JSON: %q", r.body)
		}
	})
}
