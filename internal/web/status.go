package web

import (
	"context"
	"time"
)

// StatusSource gives the status document. Assembler is the one pollerd
// serves (it joins the monitor's live state, the store's uptime and
// incidents, and the outbox's counts through interfaces declared in
// assemble.go); tests serve fixed documents.
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
}

// Status is the document served at GET /api/v1/status. Fields may be added;
// none is removed or renamed without changing DESIGN.md.
type Status struct {
	Targets    []TargetStatus `json:"targets"`
	Deliveries Deliveries     `json:"deliveries"`
	Incidents  []Incident     `json:"incidents"` // recent, newest first
	Config     *ConfigInfo    `json:"config,omitempty"`
	Canaries   *CanaryStatus  `json:"canaries,omitempty"` // absent without canaries
}

// ConfigInfo is the config in force: the hex SHA-256 of the file's bytes
// and when it was loaded (at start or by the last good reload).
type ConfigInfo struct {
	Hash     string    `json:"hash"`
	LoadedAt time.Time `json:"loaded_at"`
}

// TargetStatus is one target as the monitor sees it.
type TargetStatus struct {
	Name  string `json:"name"`
	Group string `json:"group"` // "" for a target in no group
	Kind  string `json:"kind"`  // http, tcp
	// URL is served through SafeURL: userinfo, query and fragment are dropped
	// here even when the caller forgot, because they are where secrets live.
	URL        string             `json:"url"`
	State      string             `json:"state"` // UP, DOWN, UNKNOWN
	Since      *time.Time         `json:"since"` // RFC 3339; null before the first state
	LastResult *Result            `json:"last_result"`
	LastError  string             `json:"last_error,omitempty"`
	Uptime     map[string]float64 `json:"uptime,omitempty"` // "24h", "7d", "30d" → 0..1
	// Silenced is true while a maintenance window or a silence covers the
	// target (its DOWNs and reminders are held); Cover says which, for the
	// status page: "maintenance" or "silenced".
	Silenced bool   `json:"silenced"`
	Cover    string `json:"-"`
}

// Result is the last probe of a target.
type Result struct {
	OK         bool      `json:"ok"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	Reason     string    `json:"reason"`
	StatusCode int       `json:"status_code,omitempty"`
}

// Deliveries counts outbox rows: pending ones will be retried, failed ones
// were given up on (a permanent channel error) and need an operator.
type Deliveries struct {
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Incident is one outage of a target or one burst of client reports.
type Incident struct {
	ID       int64      `json:"id"`
	Kind     string     `json:"kind"`
	Subject  string     `json:"subject"`
	OpenedAt time.Time  `json:"opened_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	Cause    string     `json:"cause"`
	Reports  int        `json:"reports"`
}

// sanitize returns a copy of st that is safe to serve: URLs stripped of
// credentials and query, including URLs quoted inside free text (Go's
// url.Error puts the whole request URL in its message), and empty lists
// instead of null. The caller's document is not modified.
func sanitize(st Status) Status {
	out := Status{
		Config:     st.Config,
		Canaries:   st.Canaries,
		Deliveries: st.Deliveries,
		Targets:    make([]TargetStatus, len(st.Targets)),
		Incidents:  make([]Incident, len(st.Incidents)),
	}
	for i, t := range st.Targets {
		t.URL = SafeURL(t.URL)
		t.LastError = SafeText(t.LastError)
		if t.LastResult != nil {
			r := *t.LastResult
			r.Reason = SafeText(r.Reason)
			t.LastResult = &r
		}
		out.Targets[i] = t
	}
	for i, inc := range st.Incidents {
		inc.Subject = SafeText(inc.Subject)
		inc.Cause = SafeText(inc.Cause)
		out.Incidents[i] = inc
	}
	return out
}
