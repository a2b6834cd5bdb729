package alert

import (
	"strings"
	"time"
)

// A group incident's Cause lists the members it announced, in the group's
// order, each recovered one with its downtime: "api, db (up after 4m12s),
// web". It is what the status page shows and what Restore reads back.

const upAfter = " (up after "

func groupCause(gs *groupState) string {
	var parts []string
	for _, name := range gs.members {
		m := gs.in[name]
		switch {
		case m == nil:
		case gs.up[name] && m.Downtime > 0:
			parts = append(parts, name+upAfter+m.Downtime.String()+")")
		case gs.up[name]:
			parts = append(parts, name+upAfter+"?)")
		default:
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, ", ")
}

// parseGroupCause reads a Cause back; recovered members have a Downtime
// (-1 when it is not known).
func parseGroupCause(s string) []groupMember {
	var out []groupMember
	for part := range strings.SplitSeq(s, ", ") {
		if part == "" {
			continue
		}
		name, rest, up := strings.Cut(part, upAfter)
		m := groupMember{Name: name}
		if up {
			m.Downtime = -1
			if d, err := time.ParseDuration(strings.TrimSuffix(rest, ")")); err == nil {
				m.Downtime = d
			}
		}
		out = append(out, m)
	}
	return out
}
