package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

const (
	defaultTimeout = 10 * time.Second
	// maxAnswer bounds how much of Slack's answer we read: its error strings
	// are a few bytes; anything longer is not one.
	maxAnswer = 4 << 10
	// maxDrain bounds how much more we read so the connection can be reused.
	maxDrain = 64 << 10
)

// WebhookOptions configures a Webhook.
type WebhookOptions struct {
	URL    string       // the incoming-webhook URL; a secret
	Client *http.Client // default: a client with a 10 s timeout
	Logger *zap.Logger  // default: no logs
}

// Webhook posts messages to a Slack incoming webhook. It is safe for
// concurrent use.
type Webhook struct {
	url    string
	host   string // scheme://host, for logs
	client *http.Client
	log    *zap.Logger
}

var _ alert.Notifier = (*Webhook)(nil)

// NewWebhook checks the URL (an absolute http or https URL) and returns a
// notifier posting to it. Its errors never repeat the URL.
func NewWebhook(o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("slack webhook url: want an absolute http(s) url")
	}
	w := &Webhook{url: o.URL, host: alert.RedactURL(o.URL), client: o.Client, log: o.Logger}
	if w.client == nil {
		w.client = &http.Client{Timeout: defaultTimeout}
	}
	if w.log == nil {
		w.log = zap.NewNop()
	}
	return w, nil
}

// Name is the channel name shown in logs and the status API.
func (w *Webhook) Name() string { return "slack" }

// Notify posts m and classifies Slack's answer (see classify). The caller's
// ctx bounds the post, as does the client's timeout.
func (w *Webhook) Notify(ctx context.Context, m alert.Message) error {
	body, err := encode(m)
	if err != nil {
		return alert.Permanent(fmt.Errorf("encode slack payload: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return alert.Permanent(errorf("build slack request", err))
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := w.client.Do(req)
	if err != nil {
		return errorf("post to slack", err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()
	// The status decides; a body cut short only loses Slack's error string.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	err = classify(resp, answer)
	w.log.Debug("slack webhook answered",
		zap.String("key", m.Key), zap.String("host", w.host),
		zap.Int("status", resp.StatusCode), zap.Error(err))
	return err
}
