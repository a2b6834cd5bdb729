package alerttest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func post(t *testing.T, ctx context.Context, url, body string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestWebhook_Script(t *testing.T) {
	w := NewWebhook(t)
	if !strings.HasPrefix(w.URL(), "http://127.0.0.1:") || !strings.HasSuffix(w.URL(), "/services/T000/B000/"+Secret) {
		t.Fatalf("URL = %q", w.URL())
	}
	w.Script(
		Response{Status: http.StatusTooManyRequests, RetryAfter: "2"},
		Response{Status: http.StatusInternalServerError, Body: "boom"},
	)
	tests := []struct {
		name       string
		url, body  string
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{"scripted 429", w.URL(), `{"text":"one"}`, 429, "429 Too Many Requests", "2"},
		{"invalid json does not use the script", w.URL(), `{`, 400, "invalid_payload", ""},
		{"no text", w.URL(), `{"text":""}`, 400, "no_text", ""},
		{"wrong path", strings.TrimSuffix(w.URL(), Secret) + "other", `{"text":"x"}`, 404, "no_service", ""},
		{"scripted 500", w.URL(), `{"text":"two"}`, 500, "boom", ""},
		{"script exhausted", w.URL(), `{"text":"three"}`, 200, "ok", ""},
		{"blocks without text", w.URL(), `{"blocks":[{"type":"divider"}]}`, 200, "ok", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := post(t, context.Background(), tt.url, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody || resp.Header.Get("Retry-After") != tt.wantRetry {
				t.Errorf("got %d %q retry-after %q, want %d %q %q",
					resp.StatusCode, body, resp.Header.Get("Retry-After"), tt.wantStatus, tt.wantBody, tt.wantRetry)
			}
		})
	}

	if got := len(w.Attempts()); got != len(tests) {
		t.Errorf("attempts = %d, want %d", got, len(tests))
	}
	msgs := w.WaitFor(t, 2, time.Second)
	if len(msgs) != 2 || msgs[0].Text != "three" || msgs[1].Text != "" || string(msgs[0].Raw) != `{"text":"three"}` {
		t.Errorf("messages = %+v", msgs)
	}
}

func TestWebhook_WaitFor(t *testing.T) {
	w := NewWebhook(t)
	done := make(chan error, 1)
	go func() {
		_, _, err := post(t, context.Background(), w.URL(), `{"text":"async"}`)
		done <- err
	}()
	msgs := w.WaitFor(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].Text != "async" {
		t.Errorf("messages = %+v", msgs)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWebhook_Delay(t *testing.T) {
	w := NewWebhook(t)
	w.Script(Response{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := post(t, ctx, w.URL(), `{"text":"slow"}`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// The abandoned post is recorded, but never as accepted.
	deadline := time.Now().Add(10 * time.Second)
	for len(w.Attempts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	a := w.Attempts()
	if len(a) != 1 || a[0].Status != 0 || len(w.Messages()) != 0 {
		t.Errorf("attempts = %+v, messages = %+v", a, w.Messages())
	}
}

// recordingTB captures failures of the helper under test.
type recordingTB struct {
	testing.TB
	errors int
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Errorf(string, ...any) { r.errors++ }
func (r *recordingTB) Fatal(...any)          { r.errors++ }
func (r *recordingTB) Fatalf(string, ...any) { r.errors++ }

func TestAssertNoSecret(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		haystacks []string
		want      int
	}{
		{"clean", "s3cr/et", []string{"post http://127.0.0.1/…", "ok"}, 0},
		{"plain", "s3cr/et", []string{"ok", "url /services/s3cr/et"}, 1},
		{"path escaped", "s3cr et", []string{"/s3cr%20et"}, 1},
		{"query escaped", "s3cr/et", []string{"?u=s3cr%2Fet"}, 1},
		{"two leaks", "x1", []string{"x1", "x1x1"}, 2},
		{"empty secret", "", []string{"anything"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			var hs [][]byte
			for _, h := range tt.haystacks {
				hs = append(hs, []byte(h))
			}
			AssertNoSecret(rec, tt.secret, hs...)
			if rec.errors != tt.want {
				t.Errorf("failures = %d, want %d", rec.errors, tt.want)
			}
		})
	}
}

func TestCaptureLogs(t *testing.T) {
	l, logs := CaptureLogs(t)
	l.Debug("hello", zap.String("k", "v"))
	if got := string(logs()); !strings.Contains(got, `"msg":"hello"`) || !strings.Contains(got, `"k":"v"`) {
		t.Errorf("logs = %s", got)
	}
}
