// Package alert turns transitions and client reports into deduplicated
// messages and delivers them durably: it owns incidents, report
// deduplication, the outbox and its deliverer, and the Notifier interface
// that each channel (alert/slack, alert/logsink) implements.
package alert

import (
	"context"
	"time"
)

// Kind says what a message announces.
type Kind string

const (
	KindDown      Kind = "DOWN"
	KindRecovered Kind = "RECOVERED"
	KindReport    Kind = "REPORT"
)

// Message is one notification, built once by the engine and rendered by each
// channel. All text fields are ready to show: untrusted parts are already
// escaped for Slack mrkdwn (see EscapeMrkdwn) and truncated.
type Message struct {
	// Key is the idempotency key: incident id + kind ("42:down").
	Key        string    `json:"key"`
	IncidentID int64     `json:"incident_id,omitempty"`
	Kind       Kind      `json:"kind"`
	Target     string    `json:"target,omitempty"`  // DOWN, RECOVERED
	Service    string    `json:"service,omitempty"` // REPORT
	CreatedAt  time.Time `json:"created_at"`

	// Text is the plain fallback Slack shows in notifications; it leads with
	// what happened. Under MaxTextLen.
	Text string `json:"text"`
	// Title is the one-line heading ("🔴 api is DOWN").
	Title string `json:"title"`
	// Fields are label/value pairs shown under the title (Reason, Since,
	// Downtime, Request, Reports…). Values are mrkdwn.
	Fields []Field `json:"fields,omitempty"`
	// Detail is an optional longer mrkdwn section (a report's message).
	Detail string `json:"detail,omitempty"`
}

// Field is one labelled value of a message.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Limits Slack imposes; we stay under them and mark what we cut.
const (
	MaxTextLen    = 3900 // message text, under Slack's 4,000
	MaxSectionLen = 2900 // one section block, under Slack's 3,000
)

// Notifier delivers one message to one channel. It returns nil once the
// channel accepted the message; otherwise an error classified with
// Permanent or RetryAfter, or any other error to be retried with backoff.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, m Message) error
}
