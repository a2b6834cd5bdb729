package alert

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"2", 2 * time.Second},
		{" 30 ", 30 * time.Second},
		{"", time.Second},
		{"0", time.Second},
		{"-5", time.Second},
		{"soon", time.Second},
		{"999999999999", time.Hour},
		{"7200", time.Hour},
		{"Wed, 21 Oct 2015 07:28:00 GMT", time.Second}, // a date in the past
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := ParseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestClassifyHTTP(t *testing.T) {
	answer := errors.New("the channel's answer")
	tests := []struct {
		name       string
		code       int
		retryAfter string
		want       string // nil, retry-after, retry, permanent
		wait       time.Duration
	}{
		{"200 delivered", 200, "", "nil", 0},
		{"204 delivered", 204, "", "nil", 0},
		{"429 waits its Retry-After", 429, "7", "retry-after", 7 * time.Second},
		{"429 without one waits a second", 429, "", "retry-after", time.Second},
		{"500 retried", 500, "", "retry", 0},
		{"503 retried, Retry-After or not", 503, "60", "retry", 0},
		{"400 permanent", 400, "", "permanent", 0},
		{"404 permanent", 404, "", "permanent", 0},
		{"302 permanent", 302, "", "permanent", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.code, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			err := ClassifyHTTP(resp, answer)
			wait, limited := RetryAfterOf(err)
			var got string
			switch {
			case err == nil:
				got = "nil"
			case limited:
				got = "retry-after"
			case IsPermanent(err):
				got = "permanent"
			default:
				got = "retry"
			}
			if got != tt.want || (limited && wait != tt.wait) {
				t.Fatalf("ClassifyHTTP(%d) = %v (%s, wait %v), want %s, wait %v", tt.code, err, got, wait, tt.want, tt.wait)
			}
			if err != nil && !errors.Is(err, answer) {
				t.Errorf("the verdict %v does not wrap the channel's error", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T000/B000/SECRETXYZ", "https://hooks.slack.com/<redacted>"},
		{"http://127.0.0.1:8080/x?token=SECRETXYZ", "http://127.0.0.1:8080/<redacted>"},
		{"https://user:SECRETXYZ@example.com/", "https://example.com/<redacted>"},
		{"not a url SECRETXYZ", "<redacted>"},
		{"http://[::1%SECRETXYZ", "<redacted>"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL = %q, want %q", got, tt.want)
			}
		})
	}
}
