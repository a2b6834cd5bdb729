package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
)

// body is the JSON a webhook receives; the README documents it. Every key
// is always present (empty strings, an empty list, a null since), so that a
// receiver can rely on the shape.
type body struct {
	Kind    string     `json:"kind"` // DOWN, RECOVERED, REPORT, REMINDER, NOTICE
	Key     string     `json:"key"`  // the idempotency key, as in X-Pollerd-Delivery
	Text    string     `json:"text"` // plain text, no markup
	Target  string     `json:"target"`
	Group   string     `json:"group"`
	Service string     `json:"service"`
	Targets []string   `json:"targets"` // the targets the message is about
	Since   *time.Time `json:"since"`   // when what it tells began; null when unknown
	At      time.Time  `json:"at"`      // when it happened
}

// Body encodes m as the webhook body. The text is the message's plain text:
// no mrkdwn, nothing escaped but what JSON itself escapes, so untrusted text
// cannot break out of its string.
func Body(m alert.Message) ([]byte, error) {
	b := body{
		Kind:    string(m.Kind),
		Key:     m.Key,
		Text:    m.Text,
		Target:  m.Target,
		Group:   m.Group,
		Service: m.Service,
		Targets: []string{},
		At:      m.At.UTC(),
	}
	switch {
	case len(m.Targets) > 0: // a grouped message: its members
		b.Targets = append(b.Targets, m.Targets...)
	case m.Target != "":
		b.Targets = append(b.Targets, m.Target)
	}
	if !m.Since.IsZero() {
		since := m.Since.UTC()
		b.Since = &since
	}
	return json.Marshal(b)
}

// Signature is the X-Pollerd-Signature value for body: "sha256=" and the
// hex HMAC-SHA256 of the body's exact bytes under secret.
func Signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
