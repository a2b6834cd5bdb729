package config

import (
	"cmp"
	"maps"
	"slices"
	"sort"
)

// Channel kinds: the names a report's `types` (and, later, a target's
// `notify`) may use. ChannelLog is the log, which stands in when no other
// channel is configured.
const (
	ChannelSlack = "slack"
	ChannelLog   = "log"

	ChannelAlertmanager = "alertmanager"
)

// channelSections is the config half of the channel registry: each kind that
// has an `alerting.<kind>` section and the function that decodes it into
// Alerting. cmd/pollerd holds the other half (kind → constructor); a test
// there keeps the two in step. Adding a channel is one entry here, one
// there, and its sub-package under internal/alert.
var channelSections = []struct {
	kind   string
	decode func(p *parser, path string, v any, a *Alerting)
}{
	{ChannelSlack, (*parser).slack},
	{ChannelAlertmanager, (*parser).alertmanager},
}

// ChannelKinds lists every channel kind pollerd has, sorted.
func ChannelKinds() []string {
	kinds := []string{ChannelLog}
	for _, s := range channelSections {
		kinds = append(kinds, s.kind)
	}
	sort.Strings(kinds)
	return kinds
}

// Alerting holds the configured channels' settings. With none, alerts go
// to the log.
type Alerting struct {
	Slack *Slack // nil when not configured

	Alertmanager *Alertmanager // nil when not configured
}

// Slack is one Slack destination: exactly one of WebhookURL (incoming-webhook
// mode) or Token (bot mode, with Channel) is set.
type Slack struct {
	WebhookURL Secret
	Token      Secret
	Channel    string // bot mode only
}

// Channel is one channel to build: its kind and its name (the name `types`
// uses; for every kind but webhooks, the kind itself).
type Channel struct {
	Kind, Name string
	// Fallback marks the log standing in for a missing channel: it takes
	// every message, whatever a report's types name.
	Fallback bool
}

// Channels lists the channels to build, sorted by name: the configured
// ones, or the log alone when none is.
func (a Alerting) Channels() []Channel {
	var out []Channel
	if a.Slack != nil {
		out = append(out, Channel{Kind: ChannelSlack, Name: ChannelSlack})
	}
	if a.Alertmanager != nil {
		out = append(out, Channel{Kind: ChannelAlertmanager, Name: ChannelAlertmanager})
	}
	if len(out) == 0 {
		return []Channel{{Kind: ChannelLog, Name: ChannelLog, Fallback: true}}
	}
	slices.SortFunc(out, func(x, y Channel) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// ChannelNames lists the names a report's types may use: every kind, so
// clients that send ["slack"] keep working whatever is configured, and the
// configured channels' names.
func (a Alerting) ChannelNames() []string {
	names := ChannelKinds()
	for _, c := range a.Channels() {
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

func (p *parser) alerting(v any) Alerting {
	var a Alerting
	if v == nil {
		return a
	}
	raw, ok := v.(map[string]any)
	if !ok {
		p.add("alerting", "must be a mapping")
		return a
	}
	known := make(map[string]bool, len(channelSections))
	for _, s := range channelSections {
		known[s.kind] = true
		if sv, ok := raw[s.kind]; ok {
			s.decode(p, "alerting."+s.kind, sv, &a)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch {
		case k == "":
			p.add("alerting", "empty key")
		case !known[k]:
			p.add("alerting."+k, "unknown key")
		}
	}
	return a
}

func (p *parser) slack(path string, v any, a *Alerting) {
	var rs struct {
		WebhookURL any `mapstructure:"webhook_url"`
		Token      any `mapstructure:"token"`
		Channel    any `mapstructure:"channel"`
	}
	if !p.section(path, v, &rs) {
		return
	}
	hook, _ := p.str(path+".webhook_url", rs.WebhookURL)
	token, _ := p.str(path+".token", rs.Token)
	channel, _ := p.str(path+".channel", rs.Channel)
	switch {
	case hook == "" && token == "" && channel == "":
		// Absent, or every value expanded to empty (${SLACK_WEBHOOK_URL:-}):
		// no Slack, alerts go to the log.
		return
	case hook == "" && token == "":
		p.add(path, "needs webhook_url or token")
	case hook != "" && token != "":
		p.add(path, "set webhook_url or token, not both")
	case channel != "" && token == "":
		p.add(path+".channel", "only with token (bot mode); a webhook posts to its own channel")
	}
	if hook != "" {
		if msg := checkWebhookURL(hook); msg != "" {
			p.add(path+".webhook_url", "%s", msg)
		}
	}
	a.Slack = &Slack{WebhookURL: Secret(hook), Token: Secret(token), Channel: channel}
}
