package slack

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

func downMessage() alert.Message { return goldenMessages()["down"] }

func TestWebhook_Notify(t *testing.T) {
	tests := []struct {
		name     string
		answer   alerttest.Response
		wantNil  bool
		wantPerm bool
		wantWait time.Duration
		wantText string
	}{
		{name: "200 ok", answer: alerttest.Response{Status: 200, Body: "ok"}, wantNil: true},
		{name: "429 Retry-After 2", answer: alerttest.Response{Status: 429, RetryAfter: "2"}, wantWait: 2 * time.Second},
		{name: "500 retries", answer: alerttest.Response{Status: 500}, wantText: "answered 500"},
		{name: "400 invalid_payload", answer: alerttest.Response{Status: 400, Body: "invalid_payload"}, wantPerm: true, wantText: "invalid_payload"},
		{name: "404 no_service", answer: alerttest.Response{Status: 404, Body: "no_service"}, wantPerm: true, wantText: "no_service"},
		{name: "403 action_prohibited", answer: alerttest.Response{Status: 403, Body: "action_prohibited"}, wantPerm: true, wantText: "action_prohibited"},
		{name: "410 channel_is_archived", answer: alerttest.Response{Status: 410, Body: "channel_is_archived"}, wantPerm: true, wantText: "channel_is_archived"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := alerttest.NewWebhook(t)
			fake.Script(tt.answer)
			logger, logs := alerttest.CaptureLogs(t)
			w, err := NewWebhook(WebhookOptions{URL: fake.URL(), Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Notify(context.Background(), downMessage())

			attempts := fake.Attempts()
			if len(attempts) != 1 {
				t.Fatalf("fake saw %d posts, want 1", len(attempts))
			}
			if want, _ := encode(downMessage()); !bytes.Equal(attempts[0].Raw, want) {
				t.Errorf("posted %s, want %s", attempts[0].Raw, want)
			}
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Notify = %v, want nil", err)
				}
			} else {
				checkVerdict(t, err, tt.wantPerm, tt.wantWait)
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("error %q does not contain %q", err, tt.wantText)
				}
				alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
			}
			if len(logs()) == 0 {
				t.Error("no debug line logged")
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, logs())
		})
	}
}

func TestWebhook_NotifyNetworkErrors(t *testing.T) {
	// A port that was just listening and is now closed: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/services/T000/B000/" + alerttest.Secret
	l.Close()

	hanging := alerttest.NewWebhook(t)
	hanging.Script(alerttest.Response{Delay: time.Hour}, alerttest.Response{Delay: time.Hour})

	tests := []struct {
		name    string
		url     string
		client  *http.Client
		ctx     time.Duration
		wantErr func(error) bool
	}{
		{"connection refused", refused, nil, time.Minute,
			func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		{"hanging server, ctx deadline", hanging.URL(), nil, 50 * time.Millisecond,
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{"hanging server, client timeout", hanging.URL(), &http.Client{Timeout: 50 * time.Millisecond}, time.Minute,
			func(err error) bool {
				var ne net.Error
				return errors.As(err, &ne) && ne.Timeout()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := alerttest.CaptureLogs(t)
			w, err := NewWebhook(WebhookOptions{URL: tt.url, Client: tt.client, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctx)
			defer cancel()
			err = w.Notify(ctx, downMessage())
			checkVerdict(t, err, false, 0)
			if !tt.wantErr(err) {
				t.Errorf("error %v is not the expected kind", err)
			}
			if !strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error %q lost the host", err)
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()), logs())
		})
	}
}

// checkVerdict asserts how the outbox will treat err.
func checkVerdict(t *testing.T, err error, wantPerm bool, wantWait time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("Notify = nil, want an error")
	}
	if got := alert.IsPermanent(err); got != wantPerm {
		t.Errorf("IsPermanent(%v) = %v, want %v", err, got, wantPerm)
	}
	wait, limited := alert.RetryAfterOf(err)
	if limited != (wantWait != 0) || wait != wantWait {
		t.Errorf("RetryAfterOf(%v) = %v, %v, want %v", err, wait, limited, wantWait)
	}
}

func TestNewWebhook(t *testing.T) {
	bad := []string{
		"",
		"hooks.slack.com/services/T000/B000/" + alerttest.Secret,
		"ftp://hooks.slack.com/services/T000/B000/" + alerttest.Secret,
		"http://[::1%" + alerttest.Secret,
		"/services/T000/B000/" + alerttest.Secret,
	}
	for _, u := range bad {
		t.Run("rejects "+strings.ReplaceAll(u, "/", "_"), func(t *testing.T) {
			_, err := NewWebhook(WebhookOptions{URL: u})
			if err == nil {
				t.Fatal("NewWebhook accepted it")
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
		})
	}
	w, err := NewWebhook(WebhookOptions{URL: "https://hooks.slack.com/services/T000/B000/" + alerttest.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name() != "slack" || w.client.Timeout != 10*time.Second {
		t.Errorf("Name = %q, timeout = %v", w.Name(), w.client.Timeout)
	}
}
