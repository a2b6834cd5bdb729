package slack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pollerd/pollerd/internal/alert"
)

// Block Kit limits we stay under.
const (
	maxFieldsPerSection = 10   // section "fields": at most 10 items
	maxFieldLen         = 1900 // one field: Slack allows 2,000 characters
)

// Payload renders m as a webhook message: the plain fallback that phones
// show and Block Kit blocks for the channel (title, fields, detail, then a
// context line with the kind and time). It is a pure function of m, pinned
// by golden files.
//
// Message is neutral, so this is where it becomes Slack's: every text from
// it is escaped for mrkdwn (so a report can never @channel or forge a link),
// the kind's emoji goes in front of the text and the title, and texts are
// cut under Slack's limits after escaping, never inside an entity. Every
// text object is mrkdwn, including the title: mrkdwn is where Slack is
// documented to decode the entities back.
func Payload(m alert.Message) slack.WebhookMessage {
	icon := emoji[m.Kind]
	var blocks []slack.Block
	if m.Title != "" {
		blocks = append(blocks, section(bold(decorate(icon, m.Title), alert.MaxSectionLen)))
	}
	for i := 0; i < len(m.Fields); i += maxFieldsPerSection {
		chunk := m.Fields[i:min(i+maxFieldsPerSection, len(m.Fields))]
		fields := make([]*slack.TextBlockObject, 0, len(chunk))
		for _, f := range chunk {
			fields = append(fields, mrkdwn(field(f)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if m.Detail != "" {
		blocks = append(blocks, section(alert.Truncate(escape(m.Detail), alert.MaxSectionLen)))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(contextLine(m))))

	return slack.WebhookMessage{
		Text:   alert.Truncate(decorate(icon, m.Text), alert.MaxTextLen),
		Blocks: &slack.Blocks{BlockSet: blocks},
	}
}

// ResolvedPayload is what an incident's first message (its DOWN) becomes
// when m, its RECOVERED, is delivered: "✅ api was DOWN for 4m12s
// (resolved)" over the recovery's fields. A pure function of m, pinned by a
// golden file like Payload.
func ResolvedPayload(m alert.Message) slack.WebhookMessage {
	subject := m.Target
	if subject == "" {
		subject = m.Group
	}
	downtime := m.Downtime
	if downtime <= 0 && !m.Since.IsZero() && m.At.After(m.Since) {
		downtime = m.At.Sub(m.Since)
	}
	line := subject + " was DOWN (resolved)"
	if downtime > 0 {
		line = fmt.Sprintf("%s was DOWN for %s (resolved)", subject, downtime.Round(time.Second))
	}
	r := m
	r.Kind, r.Title, r.Text, r.Detail = alert.KindRecovered, line, line, ""
	return Payload(r)
}

// emoji leads a message's text and title in Slack, by kind.
var emoji = map[alert.Kind]string{
	alert.KindDown:      "🔴",
	alert.KindRecovered: "✅",
	alert.KindReport:    "⚠️",
	alert.KindReminder:  "🔁",
	alert.KindNotice:    "ℹ️",
}

// decorate is s escaped, after the kind's emoji when it has one.
func decorate(icon, s string) string {
	if icon == "" || s == "" {
		return escape(s)
	}
	return icon + " " + escape(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape escapes text for Slack mrkdwn, so that it can never mention
// @channel/@here (<!channel>), a user (<@U…>) or forge a link (<url|x>).
// Slack asks for exactly these three characters to be escaped.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

// contextLine is "*DOWN* · <time>": Slack's date token shows the time in the
// reader's own time zone, falling back to UTC in clients that cannot.
func contextLine(m alert.Message) string {
	line := "*" + string(m.Kind) + "*"
	if !m.At.IsZero() {
		t := m.At.UTC()
		line += " · <!date^" + strconv.FormatInt(t.Unix(), 10) +
			"^{date_short_pretty} {time_secs}|" + t.Format(time.DateTime) + " UTC>"
	}
	return line
}

// bold is s in bold, cut so that the whole stays under max bytes and the
// closing star survives the cut.
func bold(s string, max int) string { return "*" + alert.Truncate(s, max-2) + "*" }

// field renders "*Label*\nValue", escaped, cutting the value, not the label.
func field(f alert.Field) string {
	label := bold(escape(f.Label), maxFieldLen/2) + "\n"
	return label + alert.Truncate(escape(f.Value), maxFieldLen-len(label))
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(s), nil, nil)
}

// encode is the exact body posted to a webhook, which the golden files pin.
// (Go escapes & < > as \u0026 \u003c \u003e; slack-go's Blocks marshal
// themselves that way whatever the encoder says, and Slack decodes them.)
func encode(m alert.Message) ([]byte, error) { return json.Marshal(Payload(m)) }
