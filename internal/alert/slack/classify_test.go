package slack

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		wantNil    bool
		wantPerm   bool
		wantWait   time.Duration // 0: not a rate limit
		wantText   string
	}{
		{name: "200 ok", status: 200, body: "ok", wantNil: true},
		{name: "204 no body", status: 204, wantNil: true},
		{name: "429 waits its Retry-After", status: 429, retryAfter: "2", wantWait: 2 * time.Second, wantText: "429"},
		{name: "429 without Retry-After waits 1s", status: 429, wantWait: time.Second},
		{name: "500 retries", status: 500, body: "<html>oops</html>", wantText: "slack webhook answered 500"},
		{name: "503 retries", status: 503},
		{name: "400 invalid_payload", status: 400, body: "invalid_payload", wantPerm: true, wantText: "400 invalid_payload"},
		{name: "400 no_text", status: 400, body: "no_text\n", wantPerm: true, wantText: "400 no_text"},
		{name: "403 action_prohibited", status: 403, body: "action_prohibited", wantPerm: true},
		{name: "403 invalid_token", status: 403, body: "invalid_token", wantPerm: true},
		{name: "404 no_service", status: 404, body: "no_service", wantPerm: true, wantText: "404 no_service"},
		{name: "404 channel_not_found", status: 404, body: "channel_not_found", wantPerm: true},
		{name: "410 channel_is_archived", status: 410, body: "channel_is_archived", wantPerm: true},
		{name: "500 with a permanent error string", status: 500, body: "no_active_hooks", wantPerm: true},
		{name: "other 4xx is final", status: 418, body: "teapot", wantPerm: true},
		{name: "3xx is final", status: 302, wantPerm: true},
		{name: "workflow JSON error", status: 400, body: `{"ok":false,"error":"invalid_workflow_input"}`, wantPerm: true, wantText: "400 invalid_workflow_input"},
		{name: "HTML body stays out of the error", status: 404, body: "<p>/services/T/B/SECRET not found</p>", wantPerm: true, wantText: "slack webhook answered 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			err := classify(resp, []byte(tt.body))
			if tt.wantNil {
				if err != nil {
					t.Fatalf("classify = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("classify = nil, want an error")
			}
			if got := alert.IsPermanent(err); got != tt.wantPerm {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tt.wantPerm, err)
			}
			wait, limited := alert.RetryAfterOf(err)
			if limited != (tt.wantWait != 0) || wait != tt.wantWait {
				t.Errorf("RetryAfterOf = %v, %v, want %v", wait, limited, tt.wantWait)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.status {
				t.Errorf("error %v does not carry status %d", err, tt.status)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "<") {
				t.Errorf("error %q repeats the body", err)
			}
		})
	}
}

func TestRedactErr(t *testing.T) {
	cause := errors.New("connection refused")
	err := redactErr(&url.Error{Op: "Post", URL: "https://hooks.slack.com/services/T/B/SECRETXYZ", Err: cause})
	if strings.Contains(err.Error(), "SECRETXYZ") || !strings.Contains(err.Error(), "hooks.slack.com") {
		t.Errorf("redactErr = %q", err)
	}
	if !errors.Is(err, cause) {
		t.Error("redactErr lost the cause")
	}
	if other := errors.New("x"); redactErr(other) != other {
		t.Error("redactErr changed an error without a URL")
	}
}

// FuzzClassify: whatever Slack (or a proxy) answers, classify does not panic,
// 2xx is delivered, and the error text holds at most a Slack-like token of
// the body, never arbitrary bytes from it.
func FuzzClassify(f *testing.F) {
	f.Add(200, "ok", "")
	f.Add(429, "", "2")
	f.Add(404, "no_service", "")
	f.Add(400, `{"ok":false,"error":"invalid_blocks"}`, "")
	f.Add(502, "<html>SECRET</html>", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retry}}}
		err := classify(resp, []byte(body))
		if (err == nil) != (status/100 == 2) {
			t.Fatalf("status %d: err = %v", status, err)
		}
		if err == nil {
			return
		}
		var se *StatusError
		if !errors.As(err, &se) || (se.SlackError != "" && !isToken(se.SlackError)) {
			t.Fatalf("error %q carries a non-token from the body", err)
		}
		if d, ok := alert.RetryAfterOf(err); ok && (d < time.Second || d > time.Hour) {
			t.Fatalf("retry after %v out of bounds", d)
		}
	})
}
