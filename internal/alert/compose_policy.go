package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// Messages of the policy stages (grouping, reminders, canaries, removal).
// Pure, like compose.go; the texts are DESIGN's "Messages additions".

// reminderMessage repeats a DOWN: the n-th reminder of inc, at.
func reminderMessage(inc incident.Incident, group string, n int, at time.Time) Message {
	down := at.Sub(inc.OpenedAt).Round(time.Second)
	reason := oneLine(inc.Cause)
	return finish(Message{
		Key:        incidentKey(inc.ID, fmt.Sprintf("reminder-%d", n)),
		IncidentID: inc.ID,
		Kind:       KindReminder,
		Target:     inc.Subject,
		Group:      group,
		Since:      inc.OpenedAt,
		At:         at,
		Downtime:   down,
		Reason:     reason,
		Title:      fmt.Sprintf("%s still DOWN", inc.Subject),
		Text:       fmt.Sprintf("%s still DOWN for %s: %s", inc.Subject, down, reason),
		Fields: []Field{
			{Label: "Down for", Value: down.String()},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
			{Label: "Reason", Value: reason},
		},
	})
}

// removedMessage tells that a target removed from the config while DOWN is
// no longer monitored: its incident closes without a RECOVERED.
func removedMessage(inc incident.Incident, at time.Time) Message {
	m := Message{
		Key:        incidentKey(inc.ID, "removed"),
		IncidentID: inc.ID,
		Kind:       KindNotice,
		Target:     inc.Subject,
		Since:      inc.OpenedAt,
		At:         at,
		Reason:     oneLine(inc.Cause),
		Title:      fmt.Sprintf("%s is no longer monitored", inc.Subject),
		Text:       fmt.Sprintf("%s is no longer monitored (was down since %s)", inc.Subject, formatTime(inc.OpenedAt)),
		Fields:     []Field{{Label: "Down since", Value: formatTime(inc.OpenedAt)}},
	}
	if m.Reason != "" {
		m.Fields = append(m.Fields, Field{Label: "Last reason", Value: m.Reason})
	}
	return finish(neutralize(m))
}

// connectivityMessage tells that pollerd's own network was down (the
// canaries' quorum failed) from since to at, and how many target alerts it
// held.
func connectivityMessage(since, at time.Time, held int) Message {
	lost := at.Sub(since).Round(time.Second)
	if lost < 0 {
		lost = 0
	}
	m := Message{
		Key:   fmt.Sprintf("connectivity-%d:notice", since.UnixMilli()),
		Kind:  KindNotice,
		Since: since,
		At:    at,
		Count: held,
		Title: "pollerd lost connectivity",
		Text:  fmt.Sprintf("lost connectivity for %s; held %s", lost, plural(held, "target alert")),
		Fields: []Field{
			{Label: "Lost for", Value: lost.String()},
			{Label: "Since", Value: formatTime(since)},
			{Label: "Held", Value: plural(held, "target alert")},
		},
	}
	return finish(neutralize(m))
}

// groupMember is one member in a grouped message.
type groupMember struct {
	Name     string
	Reason   string
	Since    time.Time
	Downtime time.Duration // RECOVERED; 0: unknown
}

func memberNames(ms []groupMember) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// groupDownMessage announces the members of a group found down together.
func groupDownMessage(inc incident.Incident, down []groupMember, size int, at time.Time) Message {
	names := memberNames(down)
	lines := make([]string, len(down))
	for i, m := range down {
		lines[i] = m.Name + ": " + oneLine(m.Reason)
	}
	return finish(Message{
		Key:        incidentKey(inc.ID, "down"),
		IncidentID: inc.ID,
		Kind:       KindDown,
		Group:      inc.Subject,
		Targets:    names,
		Since:      inc.OpenedAt,
		At:         at,
		Reason:     oneLine(down[0].Reason),
		Title:      fmt.Sprintf("%s: %d of %d DOWN", inc.Subject, len(down), size),
		Text:       fmt.Sprintf("%s: %d of %d DOWN — %s", inc.Subject, len(down), size, strings.Join(names, ", ")),
		Fields: []Field{
			{Label: "Down", Value: strings.Join(lines, "\n")},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
		},
	})
}

// withoutMember is a grouped DOWN less a member that came back before the
// DOWN went out (it was held by a maintenance window or a silence): a
// grouped DOWN names every member down and none that is up.
func withoutMember(m Message, name string) Message {
	i := slices.Index(m.Targets, name)
	if i < 0 {
		return m
	}
	var n, size int
	if _, err := fmt.Sscanf(strings.TrimPrefix(m.Title, m.Group+": "), "%d of %d DOWN", &n, &size); err != nil {
		return m // not a grouped DOWN's title
	}
	m.Targets = slices.Delete(slices.Clone(m.Targets), i, i+1)
	m.Title = fmt.Sprintf("%s: %d of %d DOWN", m.Group, len(m.Targets), size)
	m.Text = fmt.Sprintf("%s: %d of %d DOWN — %s", m.Group, len(m.Targets), size, strings.Join(m.Targets, ", "))
	fields := make([]Field, 0, len(m.Fields))
	for _, f := range m.Fields {
		if f.Label == "Down" {
			var keep []string
			for _, line := range strings.Split(f.Value, "\n") {
				if !strings.HasPrefix(line, name+": ") {
					keep = append(keep, line)
				}
			}
			f.Value = strings.Join(keep, "\n")
		}
		fields = append(fields, f)
	}
	m.Fields = fields
	return finish(m)
}

// groupFollowupMessage announces members that went down while the group's
// incident was open; n numbers it (its key), down is every member down now.
func groupFollowupMessage(inc incident.Incident, n int, added, down []groupMember, size int, at time.Time) Message {
	lines := make([]string, len(added))
	for i, m := range added {
		lines[i] = m.Name + ": " + oneLine(m.Reason)
	}
	return finish(Message{
		Key:        incidentKey(inc.ID, fmt.Sprintf("followup-%d", n)),
		IncidentID: inc.ID,
		Kind:       KindDown,
		Group:      inc.Subject,
		Targets:    memberNames(added),
		Since:      inc.OpenedAt,
		At:         at,
		Reason:     oneLine(added[0].Reason),
		Title:      fmt.Sprintf("%s: %d more DOWN", inc.Subject, len(added)),
		Text: fmt.Sprintf("%s: %d more DOWN — %s (now %d of %d DOWN: %s)", inc.Subject, len(added),
			strings.Join(memberNames(added), ", "), len(down), size, strings.Join(memberNames(down), ", ")),
		Fields: []Field{
			{Label: "Also down", Value: strings.Join(lines, "\n")},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
		},
	})
}

// groupRecoveredMessage ends a group's incident: every member it announced
// is up again, each with its downtime.
func groupRecoveredMessage(inc incident.Incident, members []groupMember, at time.Time) Message {
	parts := make([]string, len(members))
	for i, m := range members {
		if m.Downtime > 0 {
			parts[i] = fmt.Sprintf("%s after %s", m.Name, m.Downtime)
		} else {
			parts[i] = m.Name
		}
	}
	downtime := max(at.Sub(inc.OpenedAt).Round(time.Second), 0)
	return finish(Message{
		Key:        incidentKey(inc.ID, "recovered"),
		IncidentID: inc.ID,
		Kind:       KindRecovered,
		Group:      inc.Subject,
		Targets:    memberNames(members),
		Since:      inc.OpenedAt,
		At:         at,
		Downtime:   downtime,
		Title:      fmt.Sprintf("%s RECOVERED", inc.Subject),
		Text:       fmt.Sprintf("%s RECOVERED — %s", inc.Subject, strings.Join(parts, ", ")),
		Fields: []Field{
			{Label: "Recovered", Value: strings.Join(parts, "\n")},
			{Label: "Down since", Value: formatTime(inc.OpenedAt)},
			{Label: "Downtime", Value: downtime.String()},
		},
	})
}
