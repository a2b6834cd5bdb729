package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Channel kinds: the names a report's `types` (and, later, a target's
// `notify`) may use. ChannelLog is the log, which stands in when no other
// channel is configured.
const (
	ChannelSlack   = "slack"
	ChannelLog     = "log"
	ChannelWebhook = "webhook" // each webhook is a channel named by its own name
	ChannelEmail   = "email"

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
	{ChannelWebhook, (*parser).webhooks},
	{ChannelEmail, (*parser).email},
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
	Slack    *Slack    // nil when not configured
	Webhooks []Webhook // alerting.webhooks, in the file's order
	Email    *Email    // nil when not configured

	Alertmanager *Alertmanager // nil when not configured

	// GroupWait is how often a follow-up of an open group incident may go
	// out (alerting.group_wait); default 30s.
	GroupWait time.Duration
	// RepeatInterval is how often a reminder goes out while a target stays
	// DOWN (alerting.repeat_interval); 0 (the default) is off, else ≥ 1s.
	RepeatInterval time.Duration
}

// Slack is one Slack destination: exactly one of WebhookURL (incoming-webhook
// mode) or Token (bot mode, with Channel) is set.
type Slack struct {
	WebhookURL Secret
	Token      Secret
	Channel    string // bot mode only
	// APIURL is the Web API base in bot mode (alerting.slack.api_url),
	// ending in "/"; "" is Slack's, https://slack.com/api/. Tests point it
	// at a fake.
	APIURL string
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
	for _, w := range a.Webhooks {
		out = append(out, Channel{Kind: ChannelWebhook, Name: w.Name})
	}
	if a.Email != nil {
		out = append(out, Channel{Kind: ChannelEmail, Name: ChannelEmail})
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
// configured channels' names (each webhook's). "webhook" itself is a kind
// but no name: a webhook is named by its name.
func (a Alerting) ChannelNames() []string {
	names := slices.DeleteFunc(ChannelKinds(), func(k string) bool { return k == ChannelWebhook })
	for _, c := range a.Channels() {
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

func (p *parser) alerting(v any) Alerting {
	a := Alerting{GroupWait: 30 * time.Second}
	defer func() { p.channels = a }()
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
		key := sectionKey(s.kind)
		known[key] = true
		if sv, ok := raw[key]; ok {
			s.decode(p, "alerting."+key, sv, &a)
		}
	}
	// A webhook's name is the channel's name in types and notify: it must
	// not be a kind's. Checked here, as the decoders cannot see the kinds.
	for i, w := range a.Webhooks {
		if w.Name != "" && slices.Contains(ChannelKinds(), w.Name) {
			p.add(fmt.Sprintf("alerting.%s[%d].name", sectionKey(ChannelWebhook), i), "%q is a channel kind; choose another name", w.Name)
		}
	}
	known["group_wait"], known["repeat_interval"] = true, true
	a.GroupWait = p.positiveDur("alerting.group_wait", raw["group_wait"], 30*time.Second)
	if d, ok := p.duration("alerting.repeat_interval", raw["repeat_interval"]); ok {
		if d != 0 && d < time.Second {
			p.add("alerting.repeat_interval", "must be 0 (off) or at least 1s")
		}
		a.RepeatInterval = d
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

// sectionKey is the alerting key of a channel kind's section: the kind,
// but for webhooks, a list under alerting.webhooks.
func sectionKey(kind string) string {
	if kind == ChannelWebhook {
		return "webhooks"
	}
	return kind
}

func (p *parser) slack(path string, v any, a *Alerting) {
	var rs struct {
		WebhookURL any `mapstructure:"webhook_url"`
		Token      any `mapstructure:"token"`
		Channel    any `mapstructure:"channel"`
		APIURL     any `mapstructure:"api_url"`
	}
	if !p.section(path, v, &rs) {
		return
	}
	hook, _ := p.str(path+".webhook_url", rs.WebhookURL)
	token, _ := p.str(path+".token", rs.Token)
	channel, _ := p.str(path+".channel", rs.Channel)
	apiURL, _ := p.str(path+".api_url", rs.APIURL)
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
	case apiURL != "" && token == "":
		p.add(path+".api_url", "only with token (bot mode)")
	}
	if apiURL != "" {
		// The token goes with every call: https, or http to loopback (tests).
		if msg := checkWebhookURL(apiURL); msg != "" {
			p.add(path+".api_url", "%s", msg)
		} else if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
	}
	if hook != "" {
		if msg := checkWebhookURL(hook); msg != "" {
			p.add(path+".webhook_url", "%s", msg)
		}
	}
	a.Slack = &Slack{WebhookURL: Secret(hook), Token: Secret(token), Channel: channel, APIURL: apiURL}
}

// Webhook is one generic JSON webhook channel (alerting.webhooks[]).
type Webhook struct {
	Name   string // unique, [a-z0-9._-]+, no channel kind: the channel's name
	URL    Secret // absolute http(s) URL; its path or query may be a credential
	Secret Secret // optional: signs each body (X-Pollerd-Signature)
}

// STARTTLS modes of alerting.email.starttls.
const (
	StartTLSRequired      = "required"      // no STARTTLS offered or failing: not sent (default)
	StartTLSOpportunistic = "opportunistic" // STARTTLS when offered, else plain (never with AUTH)
	StartTLSNone          = "none"          // plain SMTP; only to a loopback host
)

// Email is the e-mail channel (alerting.email): SMTP submission.
type Email struct {
	SMTP     string // host:port
	Username string // AUTH PLAIN when set, only over TLS
	Password Secret
	From     string   // an address, with or without a display name
	To       []string // at least one address
	StartTLS string   // StartTLSRequired (default), StartTLSOpportunistic or StartTLSNone
}

func (p *parser) webhooks(path string, v any, a *Alerting) {
	seen := map[string]int{}
	for i, item := range p.list(path, v) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		var raw struct {
			Name   any `mapstructure:"name"`
			URL    any `mapstructure:"url"`
			Secret any `mapstructure:"secret"`
		}
		// One entry per item, good or bad: alerting checks the names
		// against the channel kinds by index.
		a.Webhooks = append(a.Webhooks, Webhook{})
		if item == nil {
			p.add(ipath, "must be a mapping")
			continue
		}
		if !p.section(ipath, item, &raw) {
			continue
		}
		name, _ := p.str(ipath+".name", raw.Name)
		switch j, dup := seen[name]; {
		case name == "":
			p.add(ipath+".name", "required")
		case dup:
			p.add(ipath+".name", "%q is already %s[%d]", name, path, j)
		case checkName(name) != "":
			p.add(ipath+".name", "%s", checkName(name))
		default:
			seen[name] = i
		}
		u, _ := p.str(ipath+".url", raw.URL)
		if u == "" {
			p.add(ipath+".url", "required")
		} else if msg := checkHookURL(u); msg != "" {
			p.add(ipath+".url", "%s", msg)
		}
		secret, _ := p.str(ipath+".secret", raw.Secret)
		a.Webhooks[i] = Webhook{Name: name, URL: Secret(u), Secret: Secret(secret)}
	}
}

// checkHookURL reports what is wrong with a webhook URL, or "", never
// quoting it.
func checkHookURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "not a valid URL"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "must be an http:// or https:// URL"
	}
	return ""
}

func (p *parser) email(path string, v any, a *Alerting) {
	var raw struct {
		SMTP     any `mapstructure:"smtp"`
		Username any `mapstructure:"username"`
		Password any `mapstructure:"password"`
		From     any `mapstructure:"from"`
		To       any `mapstructure:"to"`
		StartTLS any `mapstructure:"starttls"`
	}
	if !p.section(path, v, &raw) {
		return
	}
	e := Email{StartTLS: p.strOr(path+".starttls", raw.StartTLS, StartTLSRequired)}
	e.SMTP, _ = p.str(path+".smtp", raw.SMTP)
	e.Username, _ = p.str(path+".username", raw.Username)
	password, _ := p.str(path+".password", raw.Password)
	e.Password = Secret(password)
	e.From, _ = p.str(path+".from", raw.From)
	e.To = p.strList(path+".to", raw.To)
	if e.SMTP == "" && e.From == "" && len(e.To) == 0 {
		// Absent, or every address expanded to empty: no e-mail.
		return
	}
	host := ""
	if e.SMTP == "" {
		p.add(path+".smtp", "required (host:port)")
	} else if h, port, err := net.SplitHostPort(e.SMTP); err != nil || h == "" {
		p.add(path+".smtp", "%q is not host:port (like smtp.example.com:587)", e.SMTP)
	} else if msg := checkPort(port, false); msg != "" {
		p.add(path+".smtp", "%q: %s", e.SMTP, msg)
	} else {
		host = h
	}
	if e.From == "" {
		p.add(path+".from", "required")
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		p.add(path+".from", "%q is not an e-mail address", e.From)
	}
	if len(e.To) == 0 {
		p.add(path+".to", "needs at least one address")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			p.add(fmt.Sprintf("%s.to[%d]", path, i), "%q is not an e-mail address", to)
		}
	}
	switch {
	case e.Username == "" && password != "":
		p.add(path+".password", "only with username")
	case e.Username != "" && password == "":
		p.add(path+".password", "required with username")
	}
	switch e.StartTLS {
	case StartTLSRequired, StartTLSOpportunistic:
	case StartTLSNone:
		if host != "" && !isLoopbackHost(host) {
			p.add(path+".starttls", "none is only allowed for a loopback smtp host (127.0.0.1, ::1, localhost)")
		}
	default:
		p.add(path+".starttls", "%q: must be required, opportunistic or none", e.StartTLS)
	}
	a.Email = &e
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// notify decodes a target's notify list: names of configured channels,
// which narrow the target's messages to them. A name no channel has is a
// problem, and so is a known kind that is not configured (the target's
// alerts would go nowhere), except while no channel is configured at all:
// the log then takes everything.
func (p *parser) notify(path string, v any) []string {
	if v == nil {
		return nil
	}
	names := p.strList(path, v)
	if len(names) == 0 {
		p.add(path, "must name at least one channel (leave it out for every channel)")
		return nil
	}
	channels := p.channels.Channels()
	fallback := len(channels) == 1 && channels[0].Fallback
	var configured []string
	for _, c := range channels {
		configured = append(configured, c.Name)
	}
	for i, n := range names {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case slices.Contains(configured, n), fallback && slices.Contains(p.channels.ChannelNames(), n):
		case n != ChannelWebhook && slices.Contains(ChannelKinds(), n):
			p.add(ipath, "channel %q is not configured (have %s)", n, strings.Join(configured, ", "))
		default:
			p.add(ipath, "no channel %q (have %s)", n, strings.Join(configured, ", "))
		}
	}
	return names
}

// TargetChannels maps each target with a notify list to it: what the alert
// engine narrows the target's messages to.
func (c *Config) TargetChannels() map[string][]string {
	m := map[string][]string{}
	for _, t := range c.Targets {
		if len(t.Notify) > 0 {
			m[t.Name] = t.Notify
		}
	}
	return m
}
