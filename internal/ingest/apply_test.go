package ingest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"golang.org/x/time/rate"
)

func TestHandler_Apply(t *testing.T) {
	rec := &recorder{}
	o := testOptions(rec)
	h := newTestHandler(t, o)
	send := func(body, origin, token string) int {
		r := post(body, "application/json")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	newBody := `{"serviceName":"new-app","types":["ops"],"description":"boom"}`
	if got := send(newBody, "", ""); got != http.StatusBadRequest { // "ops" is no channel yet
		t.Fatalf("before Apply: %d, want 400", got)
	}

	o2 := o
	o2.Services = []Service{{Name: "new-app", AllowedOrigins: []string{"https://new.example"}, Token: "t0k"}}
	o2.Channels = []string{"slack", "ops"}
	if err := h.Apply(o2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		body          string
		origin, token string
		want          int
	}{
		{"removed service", okBody, "", "", http.StatusNotFound},
		{"added service without its token", newBody, "", "", http.StatusUnauthorized},
		{"added service from a foreign origin", newBody, testOrigin, "t0k", http.StatusForbidden},
		{"added service with its origin and token, new channel", newBody, "https://new.example", "t0k", http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.body, tc.origin, tc.token); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}

	t.Run("preflight follows the origins", func(t *testing.T) {
		for origin, want := range map[string]int{testOrigin: http.StatusForbidden, "https://new.example": http.StatusNoContent} {
			r := httptest.NewRequest(http.MethodOptions, "/api/v1/reports", nil)
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", http.MethodPost)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != want {
				t.Errorf("preflight from %s: %d, want %d", origin, w.Code, want)
			}
		}
	})

	t.Run("rate limits follow; unchanged limits keep their buckets", func(t *testing.T) {
		lim := h.set.Load().limiter
		if err := h.Apply(o2); err != nil {
			t.Fatal(err)
		}
		if h.set.Load().limiter != lim {
			t.Error("unchanged limits got a new limiter")
		}
		o3 := o2
		o3.PerIP, o3.PerIPBurst = rate.Limit(1), 1
		if err := h.Apply(o3); err != nil {
			t.Fatal(err)
		}
		send(newBody, "", "t0k")
		if got := send(newBody, "", "t0k"); got != http.StatusTooManyRequests {
			t.Errorf("second report at 1/s burst 1: %d, want 429", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := h.set.Load()
		bad := o2
		bad.Services = []Service{{Name: "x"}, {Name: "x"}}
		if err := h.Apply(bad); err == nil {
			t.Fatal("duplicate services applied")
		}
		if h.set.Load() != before {
			t.Error("a refused Apply changed the settings")
		}
	})
}

// Apply races requests; run with -race.
func TestHandler_Apply_concurrent(t *testing.T) {
	rec := &recorder{}
	o := testOptions(rec)
	h := newTestHandler(t, o)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, post(okBody, "application/json"))
				if w.Code != http.StatusAccepted && w.Code != http.StatusNotFound {
					t.Errorf("status %d", w.Code)
					return
				}
			}
		})
	}
	for i := range 100 {
		o2 := o
		if i%2 == 0 {
			o2.Services = nil
		}
		if err := h.Apply(o2); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
