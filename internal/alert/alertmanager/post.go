package alertmanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
)

const (
	// maxAnswer bounds how much of an answer goes into an error:
	// Alertmanager's are one line ("maxFailures…", a validation message).
	maxAnswer = 512
	// maxDrain bounds how much more is read so the connection is reused.
	maxDrain = 64 << 10
)

// endpoint is one Alertmanager: where to post, and how to name it in logs
// and errors (scheme://host, no userinfo, path or query).
type endpoint struct {
	post string
	host string
}

func newEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return endpoint{}, errors.New("want an absolute http(s) url")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, errors.New("want no query or fragment")
	}
	return endpoint{post: u.JoinPath("api", "v2", "alerts").String(), host: u.Scheme + "://" + u.Host}, nil
}

// StatusError is an answer that was not 2xx: the Alertmanager (redacted
// to scheme://host), the status and the start of the body.
type StatusError struct {
	Host   string
	Code   int
	Answer string
}

func (e *StatusError) Error() string {
	s := e.Host + " answered " + strconv.Itoa(e.Code)
	if e.Answer != "" {
		s += ": " + e.Answer
	}
	return s
}

// postAll posts body to every endpoint at once and returns nil when at
// least one accepted it. Otherwise the error says what each answered and is
// classified: permanent only when every refusal was (no Alertmanager will
// take this body), a rate limit when one asked to wait (the longest wait
// asked), else retried with backoff.
func (n *Notifier) postAll(ctx context.Context, body []byte) (accepted int, err error) {
	errs := make([]error, len(n.urls))
	var wg sync.WaitGroup
	for i, ep := range n.urls {
		wg.Go(func() { errs[i] = n.post(ctx, ep, body) })
	}
	wg.Wait()
	var msgs []string
	permanent := true
	var wait time.Duration
	for _, err := range errs {
		if err == nil {
			accepted++
			continue
		}
		msgs = append(msgs, err.Error())
		if d, ok := alert.RetryAfterOf(err); ok {
			wait = max(wait, d)
		}
		if !alert.IsPermanent(err) {
			permanent = false
		}
	}
	if accepted > 0 {
		return accepted, nil
	}
	// A flat error: joining the classified ones would let errors.As find a
	// PermanentError in the tree and give up on all for one.
	flat := fmt.Errorf("no alertmanager accepted (%d tried): %s", len(n.urls), strings.Join(msgs, "; "))
	switch {
	case permanent:
		return 0, alert.Permanent(flat)
	case wait > 0:
		return 0, alert.RetryAfter(wait, flat)
	default:
		return 0, flat
	}
}

// post sends body to one Alertmanager and classifies its answer.
func (n *Notifier) post(ctx context.Context, ep endpoint, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.post, bytes.NewReader(body))
	if err != nil {
		return alert.Permanent(fmt.Errorf("%s: build request: %w", ep.host, redactErr(err, ep.host)))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", ep.host, redactErr(err, ep.host))
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		_ = resp.Body.Close()
	}()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return classify(ep.host, resp, answer)
}

// classify is the one place an answer becomes an outbox verdict: 2xx
// delivered (nil); 429 wait its Retry-After; 5xx retried with backoff;
// any other status permanent (Alertmanager answers 400 to a body it will
// never take).
func classify(host string, resp *http.Response, body []byte) error {
	code := resp.StatusCode
	if code/100 == 2 {
		return nil
	}
	return alert.ClassifyHTTP(resp, &StatusError{Host: host, Code: code, Answer: oneLine(body)})
}

// oneLine is the start of an answer on one line, for an error.
func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// redactErr replaces the URL net/http puts in its errors (it may hold
// userinfo) with host, keeping the cause so timeouts stay timeouts.
func redactErr(err error, host string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: host + "/<redacted>", Err: ue.Err}
	}
	return err
}
