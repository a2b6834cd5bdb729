package config

import (
	"net/url"
	"time"
)

// Heartbeat is pollerd's dead man's switch (healthchecks.io and the like):
// a GET to URL after each Interval in which the scheduler kept time and the
// store could be written, so the owner hears from elsewhere when pollerd
// itself is gone. URL is empty when no heartbeat is configured.
type Heartbeat struct {
	// URL is http(s). A ping URL is a bearer secret (anyone who has it can
	// ping, or pause the check), so it is a Secret and no message quotes it.
	URL      Secret
	Interval time.Duration // default 1m, at least 1s
}

func (p *parser) heartbeat(v any) Heartbeat {
	var raw struct {
		URL      any `mapstructure:"url"`
		Interval any `mapstructure:"interval"`
	}
	p.section("heartbeat", v, &raw)
	h := Heartbeat{Interval: time.Minute}
	if d, ok := p.duration("heartbeat.interval", raw.Interval); ok {
		h.Interval = d
		if d < time.Second {
			p.add("heartbeat.interval", "must be at least 1s")
		}
	}
	// Absent or empty (${HEARTBEAT_URL:-} unset): no heartbeat.
	s, _ := p.str("heartbeat.url", raw.URL)
	if s == "" {
		return h
	}
	if msg := checkHeartbeatURL(s); msg != "" {
		p.add("heartbeat.url", "%s", msg)
	}
	h.URL = Secret(s)
	return h
}

// checkHeartbeatURL reports what is wrong with a heartbeat URL, or "",
// never quoting it.
func checkHeartbeatURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http:// or https:// URL"
	case u.Host == "":
		return "has no host"
	}
	return ""
}
