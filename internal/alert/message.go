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
	// KindReminder repeats a DOWN while the target stays down
	// (alerting.repeat_interval).
	KindReminder Kind = "REMINDER"
	// KindNotice tells of something that is neither a DOWN nor a
	// RECOVERED: pollerd's own lost connectivity, a target removed from the
	// config while DOWN.
	KindNotice Kind = "NOTICE"
)

// Message is one notification, built once by the engine and rendered by each
// channel. It is neutral: every text is plain and unescaped (untrusted parts
// included), and each channel escapes and decorates it for itself. Texts are
// cut to MaxTextLen and MaxSectionLen with a visible marker.
//
// The JSON names are the outbox payload's; the ones that existed before the
// message became neutral keep their names.
type Message struct {
	// Key is the idempotency key: incident id + kind ("42:down").
	Key        string `json:"key"`
	IncidentID int64  `json:"incident_id,omitempty"`
	Kind       Kind   `json:"kind"`
	Target     string `json:"target,omitempty"` // DOWN, RECOVERED
	Group      string `json:"group,omitempty"`  // the target's group, or the grouped message's
	// Targets are the members a grouped DOWN, follow-up or RECOVERED tells
	// of (Target is then empty), in the group's order.
	Targets []string `json:"targets,omitempty"`
	Service string   `json:"service,omitempty"` // REPORT; empty for all services
	// Since is when what the message tells began: the outage, or the
	// report window.
	Since time.Time `json:"since,omitzero"`
	// At is when it happened (the transition, the window's end).
	At       time.Time     `json:"created_at"`
	Downtime time.Duration `json:"downtime,omitempty"` // RECOVERED
	Reason   string        `json:"reason,omitempty"`   // the probe's one-line reason
	Request  string        `json:"request,omitempty"`  // the report's "GET /path → 502 Bad Gateway"
	Count    int           `json:"count,omitempty"`    // client reports it tells of
	// Channels narrows the configured channels (a report's types); empty:
	// every channel. It never adds one.
	Channels []string `json:"channels,omitempty"`

	// Text is the plain line that phones show; it leads with what happened.
	Text string `json:"text"`
	// Title is the one-line heading ("api is DOWN").
	Title string `json:"title"`
	// Fields are label/value pairs shown under the title (Reason, Down
	// since, Downtime, Request, Reports…).
	Fields []Field `json:"fields,omitempty"`
	// Detail is an optional longer section (a report's message).
	Detail string `json:"detail,omitempty"`
}

// Field is one labelled value of a message.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Limits a message stays under, with a visible marker where it was cut;
// they are Slack's (4,000 for a text, 3,000 for a section) with room for a
// channel's escaping and decoration, which cuts again under its own limits.
const (
	MaxTextLen    = 3900
	MaxSectionLen = 2900
)

// Notifier delivers one message to one channel. It returns nil once the
// channel accepted the message; otherwise an error classified with
// Permanent or RetryAfter, or any other error to be retried with backoff.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, m Message) error
}
