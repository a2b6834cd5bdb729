package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// The functions here build messages from facts. They are pure, so the text
// contract (DESIGN.md, "Messages") is pinned by table tests with no engine.

// downMessage announces that a target went down. reports are the client
// reports that were waiting on its confirmation, if any.
func downMessage(inc incident.Incident, at time.Time, reports []reportSummary) Message {
	reason := oneLine(inc.Cause)
	m := Message{
		Key:        incidentKey(inc.ID, "down"),
		IncidentID: inc.ID,
		Kind:       KindDown,
		Target:     inc.Subject,
		Since:      inc.OpenedAt,
		At:         at,
		Reason:     reason,
		Count:      inc.Reports,
		Title:      fmt.Sprintf("%s is DOWN", inc.Subject),
		Text:       fmt.Sprintf("%s is DOWN: %s", inc.Subject, reason),
		Fields: []Field{
			{Label: "Reason", Value: reason},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
		},
	}
	if len(reports) > 0 {
		lines := make([]string, 0, len(reports))
		for _, r := range reports {
			lines = append(lines, r.line())
		}
		m.Request = requestLine(reports[0].r)
		m.Fields = append(m.Fields, Field{Label: "Client reports", Value: strings.Join(lines, "\n")})
		m.Text += fmt.Sprintf(" (confirmed by client reports: %s)", reports[0].line())
	}
	return finish(m)
}

// recoveredMessage announces the end of a target's outage.
func recoveredMessage(inc incident.Incident, at time.Time) Message {
	downtime := at.Sub(inc.OpenedAt).Round(time.Second)
	if downtime < 0 {
		downtime = 0
	}
	reason := oneLine(inc.Cause)
	m := Message{
		Key:        incidentKey(inc.ID, "recovered"),
		IncidentID: inc.ID,
		Kind:       KindRecovered,
		Target:     inc.Subject,
		Since:      inc.OpenedAt,
		At:         at,
		Downtime:   downtime,
		Reason:     reason,
		Count:      inc.Reports,
		Title:      fmt.Sprintf("%s RECOVERED", inc.Subject),
		Text:       fmt.Sprintf("%s RECOVERED after %s", inc.Subject, downtime),
		Fields: []Field{
			{Label: "Downtime", Value: downtime.String()},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
			{Label: "Cause", Value: reason},
		},
	}
	if inc.Reports > 0 {
		m.Fields = append(m.Fields, Field{Label: "Client reports", Value: plural(inc.Reports, "report") + " during the outage"})
		m.Text += fmt.Sprintf(" (%s during the outage)", plural(inc.Reports, "client report"))
	}
	return finish(m)
}

// reportMessage announces the first report of a fingerprint.
func reportMessage(inc incident.Incident, r Report, at time.Time) Message {
	s := summarize(r, 1)
	m := Message{
		Key:        incidentKey(inc.ID, "report"),
		IncidentID: inc.ID,
		Kind:       KindReport,
		Service:    r.Service,
		Since:      inc.OpenedAt,
		At:         at,
		Request:    requestLine(r),
		Count:      1,
		Channels:   r.Channels,
		Title:      fmt.Sprintf("%s: client report", r.Service),
		Text:       fmt.Sprintf("%s: %s", r.Service, s.line()),
		Fields:     reportFields(r),
		Detail:     firstNonEmpty(r.Message, r.Opaque),
	}
	return finish(neutralize(m))
}

// summaryMessage closes a dedup window in which a fingerprint repeated.
func summaryMessage(inc incident.Incident, r Report, count, rateLimited int, window time.Duration, at time.Time) Message {
	s := summarize(r, count)
	text := fmt.Sprintf("%s: %s in %s", r.Service, s.line(), shortDuration(window))
	if rateLimited > 0 {
		text += fmt.Sprintf(", %d more rate-limited", rateLimited)
	}
	m := Message{
		Key:        incidentKey(inc.ID, "summary"),
		IncidentID: inc.ID,
		Kind:       KindReport,
		Service:    r.Service,
		Since:      at.Add(-window),
		At:         at,
		Request:    requestLine(r),
		Count:      count,
		Channels:   r.Channels,
		Title:      fmt.Sprintf("%s: client reports summary", r.Service),
		Text:       text,
		Fields:     append(reportFields(r), Field{Label: "Reports", Value: strconv.Itoa(count)}),
	}
	if rateLimited > 0 {
		m.Fields = append(m.Fields, Field{Label: "Rate-limited", Value: strconv.Itoa(rateLimited)})
	}
	return finish(neutralize(m))
}

// overflowMessage summarises reports that were not itemised: distinct
// errors beyond a service's budget, or fingerprints evicted from memory.
func overflowMessage(inc incident.Incident, service string, reports, distinct, rateLimited int, window time.Duration, at time.Time) Message {
	who := firstNonEmpty(service, "all services")
	text := fmt.Sprintf("%s: %s of %s not itemised in %s", who, plural(reports, "client report"), plural(distinct, "other error"), shortDuration(window))
	if rateLimited > 0 {
		text += fmt.Sprintf(", %d more rate-limited", rateLimited)
	}
	m := Message{
		Key:        incidentKey(inc.ID, "summary"),
		IncidentID: inc.ID,
		Kind:       KindReport,
		Service:    service,
		Since:      at.Add(-window),
		At:         at,
		Count:      reports,
		Title:      fmt.Sprintf("%s: other client errors", who),
		Text:       text,
		Fields: []Field{
			{Label: "Reports", Value: strconv.Itoa(reports)},
			{Label: "Distinct errors", Value: strconv.Itoa(distinct)},
		},
	}
	return finish(neutralize(m))
}

// rateLimitedMessage tells of reports refused with 429 that no summary
// counted: the ingest endpoint is being flooded.
func rateLimitedMessage(inc incident.Incident, n int, window time.Duration, at time.Time) Message {
	return finish(Message{
		Key:        incidentKey(inc.ID, "summary"),
		IncidentID: inc.ID,
		Kind:       KindReport,
		Since:      at.Add(-window),
		At:         at,
		Count:      n,
		Title:      "client reports rate-limited",
		Text:       fmt.Sprintf("%s rate-limited in %s (ingest.rate_limit)", plural(n, "client report"), shortDuration(window)),
		Fields:     []Field{{Label: "Rate-limited", Value: strconv.Itoa(n)}},
	})
}

func reportFields(r Report) []Field {
	var f []Field
	if req := requestLine(r); req != "" {
		f = append(f, Field{Label: "Request", Value: req})
	}
	if r.Host != "" {
		f = append(f, Field{Label: "Host", Value: r.Host})
	}
	if r.Code != "" {
		f = append(f, Field{Label: "Code", Value: r.Code})
	}
	return f
}

// reportSummary is the one-line gist of a fingerprint and its count.
type reportSummary struct {
	r     Report
	count int
}

func summarize(r Report, count int) reportSummary { return reportSummary{r: r, count: count} }

func (s reportSummary) line() string {
	what := requestLine(s.r)
	if what == "" {
		what = Truncate(oneLine(firstNonEmpty(s.r.Code, s.r.Message, s.r.Opaque, "client error")), 120)
	}
	return fmt.Sprintf("%s, %s", what, plural(s.count, "report"))
}

// reportCause is a report incident's cause: its request, or what is known.
func reportCause(r Report) string {
	if c := requestLine(r); c != "" {
		return c
	}
	return Truncate(oneLine(firstNonEmpty(r.Code, r.Message, r.Opaque)), 200)
}

// requestLine renders "GET /api/stores/:id → 502 Bad Gateway", or what of it is known.
func requestLine(r Report) string {
	var b strings.Builder
	b.WriteString(r.Method)
	if r.Path != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Truncate(r.Path, 200))
	}
	if b.Len() == 0 {
		return ""
	}
	switch {
	case r.Status > 0:
		fmt.Fprintf(&b, " → %d", r.Status)
		if r.StatusText != "" {
			b.WriteString(" " + r.StatusText)
		}
	case r.Code != "":
		b.WriteString(" → " + r.Code)
	}
	return b.String()
}

// neutralize keeps report messages from reading as a target's DOWN or
// RECOVERED: those words in a report's text are reserved for transitions.
var reserved = strings.NewReplacer("DOWN", "down", "RECOVERED", "recovered")

func neutralize(m Message) Message {
	m.Text = reserved.Replace(m.Text)
	m.Title = reserved.Replace(m.Title)
	return m
}

// finish keeps a message under the limits every channel can take.
func finish(m Message) Message {
	m.Text = Truncate(m.Text, MaxTextLen)
	m.Detail = Truncate(m.Detail, MaxSectionLen)
	for i := range m.Fields {
		m.Fields[i].Value = Truncate(m.Fields[i].Value, 1900)
	}
	return m
}

func incidentKey(id int64, kind string) string { return strconv.FormatInt(id, 10) + ":" + kind }

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// shortDuration prints 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
