package alert

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds of a Retry-After a channel honours: an unreadable or non-positive
// one waits DefaultRetryAfter, a longer one than MaxRetryAfter waits that.
const (
	DefaultRetryAfter = time.Second
	MaxRetryAfter     = time.Hour
)

// ClassifyHTTP is the one place an HTTP channel's answer becomes an outbox
// verdict: 2xx delivered (nil); 429 waits its Retry-After; 5xx is retried
// with backoff; any other status is permanent (1xx and 3xx included: no
// working receiver answers them to a client that follows redirects). err
// is the channel's own error for the answer (its status, its body), wrapped
// by the verdict.
func ClassifyHTTP(resp *http.Response, err error) error {
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		return nil
	case code == http.StatusTooManyRequests:
		return RetryAfter(ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), err)
	case code/100 == 5:
		return err
	}
	return Permanent(err)
}

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP date
// (relative to now), within [DefaultRetryAfter, MaxRetryAfter].
func ParseRetryAfter(h string, now time.Time) time.Duration {
	d := DefaultRetryAfter
	h = strings.TrimSpace(h)
	if n, err := strconv.Atoi(h); err == nil {
		if n > int(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return ClampRetryAfter(d)
}

// ClampRetryAfter bounds a wait a channel asked for (a header, or a client
// library's parsed value) to [DefaultRetryAfter, MaxRetryAfter]; zero or
// less is DefaultRetryAfter.
func ClampRetryAfter(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return DefaultRetryAfter
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

// RedactURL keeps only a URL's scheme and host, for logs and errors: its
// path (a webhook's secret), query (tokens) and userinfo may all hold
// credentials.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	return u.Scheme + "://" + u.Host + "/<redacted>"
}
