package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pollerd/pollerd/internal/alert"
)

// permanentWebhookErrors are the error strings Slack puts in a webhook
// answer's body when retrying cannot help: the webhook or its channel is
// gone, or the payload itself is wrong.
var permanentWebhookErrors = map[string]bool{
	"invalid_payload":                   true,
	"no_text":                           true,
	"invalid_blocks":                    true,
	"invalid_blocks_format":             true,
	"too_many_attachments":              true,
	"channel_not_found":                 true,
	"channel_is_archived":               true,
	"no_service":                        true,
	"no_service_id":                     true,
	"no_team":                           true,
	"invalid_token":                     true,
	"invalid_auth":                      true,
	"action_prohibited":                 true,
	"posting_to_general_channel_denied": true,
	"no_active_hooks":                   true,
	"team_disabled":                     true,
	"team_not_found":                    true,
	"user_not_found":                    true,
}

// StatusError is a webhook answer that was not 2xx: its status and, when
// Slack gave one, its error string. It never holds the URL.
type StatusError struct {
	Code       int
	SlackError string // e.g. "channel_is_archived"; "" when the body was not one
}

func (e *StatusError) Error() string {
	s := "slack webhook answered " + strconv.Itoa(e.Code)
	if e.SlackError != "" {
		s += " " + e.SlackError
	}
	return s
}

// classify is the one place a webhook answer becomes an outbox verdict:
// 2xx delivered (nil); 429 wait its Retry-After; a permanent Slack error
// string or any other 4xx (and 1xx/3xx, which Slack never sends) permanent;
// 5xx a plain error, retried with backoff.
func classify(resp *http.Response, body []byte) error {
	code := resp.StatusCode
	if code/100 == 2 {
		return nil
	}
	err := &StatusError{Code: code, SlackError: slackError(body)}
	if code != http.StatusTooManyRequests && permanentWebhookErrors[err.SlackError] {
		return alert.Permanent(err) // even behind a 5xx
	}
	return alert.ClassifyHTTP(resp, err)
}

// slackError extracts Slack's error string from a webhook answer: a bare
// token such as "no_service", or {"error": "..."} from workflow webhooks.
// Anything else (an HTML page from a proxy, which might echo the request
// path) is left out of errors.
func slackError(body []byte) string {
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "{") {
		var v struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &v) == nil {
			s = v.Error
		}
	}
	if !isToken(s) {
		return ""
	}
	return s
}

// isToken reports whether s looks like one of Slack's error codes.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// redactErr removes the URL that net/http puts in its errors
// (`Post "https://hooks.slack.com/services/…": …`), keeping the cause so
// that errors.Is still sees timeouts and cancellations.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: alert.RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// errorf wraps err with context after redacting it.
func errorf(msg string, err error) error { return fmt.Errorf("%s: %w", msg, redactErr(err)) }
