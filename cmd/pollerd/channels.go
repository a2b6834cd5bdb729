package main

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert/email"
	"github.com/pollerd/pollerd/internal/alert/logsink"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/alert/slack"
	"github.com/pollerd/pollerd/internal/alert/webhook"
	"github.com/pollerd/pollerd/internal/config"
)

// channelKinds is the constructor half of the channel registry: kind →
// the channel built from its config. The config half (which sections exist,
// and so which names a report's types may use) is config.ChannelKinds; a
// test keeps the two in step. A new channel is its sub-package under
// internal/alert, one entry here and one in config.
//
// A constructor gets the channel to build (c.Name tells one webhook from
// another; for the other kinds it is the kind).
var channelKinds = map[string]func(cfg *config.Config, c config.Channel, log *zap.Logger) (outbox.Channel, error){
	config.ChannelLog:          newLogChannel,
	config.ChannelSlack:        newSlackChannel,
	config.ChannelAlertmanager: newAlertmanagerChannel,
	config.ChannelWebhook:      newWebhookChannel,
	config.ChannelEmail:        newEmailChannel,
}

// buildChannels makes the configured channels: with none, the log.
func buildChannels(cfg *config.Config, log *zap.Logger) ([]outbox.Channel, error) {
	var out []outbox.Channel
	for _, c := range cfg.Alerting.Channels() {
		build, ok := channelKinds[c.Kind]
		if !ok {
			return nil, fmt.Errorf("alerting: channel kind %q has no constructor", c.Kind)
		}
		ch, err := build(cfg, c, log)
		if err != nil {
			return nil, err
		}
		ch.All = c.Fallback
		if ch.All {
			log.Warn("no alert channel configured (alerting.slack): alerts go to this log only")
		}
		out = append(out, ch)
	}
	return out, nil
}

// refUser is a channel that keeps a reference of an incident's first
// message in the incident's row (Slack bot mode: the thread later messages
// reply in). Constructors get no store, so Run hands it over here.
type refUser interface {
	UseRefs(slack.RefStore)
}

// useRefStore gives refs to every channel that keeps message refs.
func useRefStore(channels []outbox.Channel, refs slack.RefStore) {
	for _, ch := range channels {
		if u, ok := ch.Notifier.(refUser); ok {
			u.UseRefs(refs)
		}
	}
}

func newLogChannel(_ *config.Config, _ config.Channel, log *zap.Logger) (outbox.Channel, error) {
	return outbox.Channel{Notifier: logsink.New(log.Named("alert"))}, nil
}

// newSlackChannel is bot mode with a token, else an incoming webhook. Slack
// takes about one message a second, with short bursts: the outbox paces it.
func newSlackChannel(cfg *config.Config, _ config.Channel, log *zap.Logger) (outbox.Channel, error) {
	s := cfg.Alerting.Slack
	if s.Token.Value() != "" {
		bot, err := slack.NewBot(slack.BotOptions{Token: s.Token.Value(), Channel: s.Channel, APIURL: s.APIURL,
			Logger: log.Named("slack")})
		if err != nil {
			return outbox.Channel{}, fmt.Errorf("alerting.slack: %w", err)
		}
		return outbox.Channel{Notifier: bot, Rate: 1, Burst: 3}, nil
	}
	wh, err := slack.NewWebhook(slack.WebhookOptions{URL: s.WebhookURL.Value(), Logger: log.Named("slack")})
	if err != nil {
		return outbox.Channel{}, fmt.Errorf("alerting.slack.webhook_url: %w", err)
	}
	return outbox.Channel{Notifier: wh, Rate: 1, Burst: 3}, nil
}

// newWebhookChannel builds the webhook c names. Receivers are ours or
// the owner's, not a rate-limited SaaS: paced modestly (5/s, burst 10) only
// so a burst of alerts cannot hammer one.
func newWebhookChannel(cfg *config.Config, c config.Channel, log *zap.Logger) (outbox.Channel, error) {
	for _, w := range cfg.Alerting.Webhooks {
		if w.Name != c.Name {
			continue
		}
		wh, err := webhook.New(webhook.Options{Name: w.Name, URL: w.URL.Value(), Secret: w.Secret.Value(),
			Logger: log.Named("webhook")})
		if err != nil {
			return outbox.Channel{}, fmt.Errorf("alerting.webhooks: %w", err)
		}
		return outbox.Channel{Notifier: wh, Rate: 5, Burst: 10}, nil
	}
	return outbox.Channel{}, fmt.Errorf("alerting.webhooks: no webhook %q", c.Name)
}

// newEmailChannel builds the SMTP channel, paced at one mail a second with
// bursts of 3: mail providers throttle bursts, and an inbox is read by a
// person.
func newEmailChannel(cfg *config.Config, _ config.Channel, log *zap.Logger) (outbox.Channel, error) {
	e := cfg.Alerting.Email
	em, err := email.New(email.Options{Addr: e.SMTP, Username: e.Username, Password: e.Password.Value(),
		From: e.From, To: e.To, StartTLS: e.StartTLS, Logger: log.Named("email")})
	if err != nil {
		return outbox.Channel{}, fmt.Errorf("alerting.email: %w", err)
	}
	return outbox.Channel{Notifier: em, Rate: 1, Burst: 3}, nil
}
