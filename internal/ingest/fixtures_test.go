package ingest

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// The real client bodies (testdata/reports, copied from shared/fixtures).
func TestHandler_ServeHTTP_Fixtures(t *testing.T) {
	tests := []struct {
		file, ct string
		want     alert.Report // Fingerprint, At and Service ignored
	}{
		{"node-502.json", "application/json", alert.Report{
			Channels: []string{"slack"}, Method: "GET", Host: "127.0.0.1:18674", Path: "/api/stores/:id",
			Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502",
		}},
		{"browser-502.json", "application/json", alert.Report{
			Channels: []string{"slack"}, Method: "GET", Path: "/api/stores/:id",
			Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502",
		}},
		{"browser-502.json", "text/plain;charset=UTF-8", alert.Report{
			Channels: []string{"slack"}, Method: "GET", Path: "/api/stores/:id",
			Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502",
		}},
		{"node-econnrefused.json", "application/json", alert.Report{
			Channels: []string{"slack"}, Method: "GET", Host: "127.0.0.1:18673", Path: "/api/stores/:id",
			Code: "ECONNREFUSED", Message: "connect ECONNREFUSED 127.0.0.1:18673",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file+" as "+tt.ct, func(t *testing.T) {
			rec := &recorder{}
			logger, logged := alerttest.CaptureLogs(t)
			o := testOptions(rec)
			o.Logger = logger
			h := newTestHandler(t, o)
			r := post(string(fixture(t, tt.file)), tt.ct)
			r.Header.Set("Origin", testOrigin)
			w := serve(h, r)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status = %d: %s", w.Code, w.Body)
			}
			added, _, _ := rec.snapshot()
			if len(added) != 1 {
				t.Fatalf("engine got %d reports", len(added))
			}
			got := added[0]
			want := tt.want
			want.Service, want.Fingerprint, want.At = testService, got.Fingerprint, got.At
			if strings.Join(got.Channels, ",") != strings.Join(want.Channels, ",") {
				t.Errorf("Channels = %q, want %q", got.Channels, want.Channels)
			}
			got.Channels, want.Channels = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("report =\n%+v\nwant\n%+v", got, want)
			}
			haystack := strings.Join(reportStrings(added[0]), "\n") + string(logged()) + w.Body.String()
			for _, secret := range fixtureSecrets {
				if strings.Contains(haystack, secret) {
					t.Errorf("a planted secret leaked into the report, the log or the answer")
				}
			}
			if !strings.Contains(string(logged()), got.Fingerprint) {
				t.Errorf("debug log lacks the fingerprint")
			}
		})
	}
}

// A node client (absolute URL) and a browser (relative URL) that saw the
// same failure yield one fingerprint; a different failure does not.
func TestFingerprint_Fixtures(t *testing.T) {
	fp := func(file string) string {
		req, e := decodeBody(fixture(t, file), map[string]bool{"slack": true})
		if e != nil {
			t.Fatalf("%s: %v", file, e)
		}
		return buildReport(req, fixedNow).Fingerprint
	}
	node, browser, refused := fp("node-502.json"), fp("browser-502.json"), fp("node-econnrefused.json")
	if node != browser {
		t.Errorf("node-502 %s != browser-502 %s", node, browser)
	}
	if node == refused {
		t.Errorf("502 and ECONNREFUSED share fingerprint %s", node)
	}
}

// Refusals log their status only: nothing of the body reaches the log. The
// answer names a bad `types` entry (quoted, cut), nothing else of the body.
func TestHandler_ServeHTTP_RefusalLeaksNothing(t *testing.T) {
	body := strings.Replace(string(fixture(t, "node-502.json")), `"tteokbokki-map"`, `"SECRET_PLACEHOLDER_TOKEN-service"`, 1)
	for _, tt := range []struct {
		name, body  string
		want        int
		echoAllowed string
	}{
		{"unknown service", body, http.StatusNotFound, ""},
		{"bad type", strings.Replace(body, `"slack"`, `"QUERY_PLACEHOLDER_TOKEN"`, 1), http.StatusBadRequest, "QUERY_PLACEHOLDER_TOKEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logger, logged := alerttest.CaptureLogs(t)
			o := testOptions(&recorder{})
			o.Logger = logger
			w := serve(newTestHandler(t, o), post(tt.body, "application/json"))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if !strings.Contains(string(logged()), "report refused") {
				t.Fatalf("no debug line for the refusal")
			}
			for _, s := range fixtureSecrets {
				if strings.Contains(string(logged()), s) {
					t.Errorf("%s leaked into the log", s)
				}
				if s != tt.echoAllowed && strings.Contains(w.Body.String(), s) {
					t.Errorf("%s leaked into the answer", s)
				}
			}
		})
	}
}
