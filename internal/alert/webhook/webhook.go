package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

// Header names a receiver reads.
const (
	HeaderDelivery  = "X-Pollerd-Delivery"  // the idempotency key: the same on every retry
	HeaderSignature = "X-Pollerd-Signature" // sha256=<hex HMAC-SHA256 of the body>, with a secret
)

const (
	defaultTimeout = 10 * time.Second
	maxDrain       = 64 << 10 // read this much of an answer so the connection can be reused
)

// Options configure a Webhook.
type Options struct {
	Name   string       // the channel's name (alerting.webhooks[].name)
	URL    string       // absolute http(s) URL; treated as a secret
	Secret string       // optional: signs each body
	Client *http.Client // default: a client with a 10 s timeout
	Logger *zap.Logger  // default: no logs
}

// Webhook posts messages to one URL. It is safe for concurrent use.
type Webhook struct {
	name, url, secret string
	host              string // scheme://host, for logs and errors
	client            *http.Client
	log               *zap.Logger
}

var _ alert.Notifier = (*Webhook)(nil)

// New checks the options and returns the channel. Its errors never repeat
// the URL or the secret.
func New(o Options) (*Webhook, error) {
	if o.Name == "" {
		return nil, errors.New("webhook: no name")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("webhook %s: url: want an absolute http(s) url", o.Name)
	}
	w := &Webhook{name: o.Name, url: o.URL, secret: o.Secret, host: alert.RedactURL(o.URL), client: o.Client, log: o.Logger}
	if w.client == nil {
		w.client = &http.Client{Timeout: defaultTimeout}
	}
	if w.log == nil {
		w.log = zap.NewNop()
	}
	return w, nil
}

// Name is the channel's configured name.
func (w *Webhook) Name() string { return w.name }

// Notify posts m and classifies the answer (see classify).
func (w *Webhook) Notify(ctx context.Context, m alert.Message) error {
	payload, err := Body(m)
	if err != nil {
		return alert.Permanent(fmt.Errorf("webhook %s: encode: %w", w.name, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return alert.Permanent(w.errorf("build request", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pollerd")
	req.Header.Set(HeaderDelivery, m.Key)
	if w.secret != "" {
		req.Header.Set(HeaderSignature, Signature(w.secret, payload))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return w.errorf("post", err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()
	err = classify(w.name, resp)
	w.log.Debug("webhook answered", zap.String("channel", w.name), zap.String("key", m.Key),
		zap.String("host", w.host), zap.Int("status", resp.StatusCode), zap.Error(err))
	return err
}

// StatusError is an answer that was not 2xx. It holds no URL and no body
// (a receiver's error page might echo the request).
type StatusError struct {
	Channel string
	Code    int
}

func (e *StatusError) Error() string {
	return "webhook " + e.Channel + " answered " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// classify is the one place an answer becomes an outbox verdict: 2xx
// delivered (nil); 429 waits its Retry-After; 5xx a plain error, retried
// with backoff; anything else (4xx, and 1xx/3xx, which no redirect-following
// client sees from a working receiver) permanent.
func classify(name string, resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return alert.ClassifyHTTP(resp, &StatusError{Channel: name, Code: resp.StatusCode})
}

// errorf wraps err with context after removing the URL that net/http puts
// in its errors, keeping the cause so errors.Is still sees timeouts.
func (w *Webhook) errorf(msg string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: w.host, Err: ue.Err}
	}
	return fmt.Errorf("webhook %s: %s: %w", w.name, msg, err)
}
