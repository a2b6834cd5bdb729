package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

// BotOptions configures a Bot (Web API, bot-token mode).
type BotOptions struct {
	Token   string       // xoxb-…; a secret
	Channel string       // channel id or name
	APIURL  string       // default slack.APIURL; tests point it at slacktest
	Client  *http.Client // default: a client with a 10 s timeout
	Logger  *zap.Logger  // default: no logs
}

// Bot posts messages with chat.postMessage. Unlike a webhook it learns the
// message's ts, which later threads replies and updates under a DOWN.
type Bot struct {
	api     *slack.Client
	channel string
	log     *zap.Logger
}

var _ alert.Notifier = (*Bot)(nil)

// NewBot returns a bot-mode notifier. Its errors never repeat the token.
func NewBot(o BotOptions) (*Bot, error) {
	if o.Token == "" || o.Channel == "" {
		return nil, errors.New("slack bot: want a token and a channel")
	}
	apiURL := o.APIURL
	if apiURL == "" {
		apiURL = slack.APIURL
	}
	if u, err := url.Parse(apiURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("slack bot: api url: want an absolute http(s) url")
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	b := &Bot{
		api:     slack.New(o.Token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(client)),
		channel: o.Channel,
		log:     o.Logger,
	}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	return b, nil
}

// Name is the channel name shown in logs and the status API.
func (b *Bot) Name() string { return "slack" }

// Notify posts m; see NotifyRef.
func (b *Bot) Notify(ctx context.Context, m alert.Message) error {
	_, err := b.NotifyRef(ctx, m)
	return err
}

// NotifyRef posts m and returns the message's ts, Slack's id for it within
// the channel. Errors are classified like the webhook's (see classifyAPI).
func (b *Bot) NotifyRef(ctx context.Context, m alert.Message) (string, error) {
	p := Payload(m)
	_, ts, err := b.api.PostMessageContext(ctx, b.channel,
		slack.MsgOptionText(p.Text, false),
		slack.MsgOptionBlocks(p.Blocks.BlockSet...),
	)
	err = classifyAPI(err)
	b.log.Debug("slack chat.postMessage answered",
		zap.String("key", m.Key), zap.String("ts", ts), zap.Error(err))
	if err != nil {
		return "", err
	}
	return ts, nil
}

// transientAPIErrors are Web API error strings worth retrying. Every other
// one (invalid_auth, not_authed, account_inactive, token_revoked,
// channel_not_found, is_archived, not_in_channel, invalid_blocks…) says the
// request or the setup is wrong, and retrying will not change it.
var transientAPIErrors = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// classifyAPI is classify for slack-go's errors: a rate limit waits its
// Retry-After, Slack's error strings are permanent unless transient, HTTP
// 5xx and network errors retry, other HTTP errors are permanent.
func classifyAPI(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &rl):
		return alert.RetryAfter(clampRetryAfter(rl.RetryAfter), fmt.Errorf("slack chat.postMessage: %w", err))
	case errors.As(err, &se):
		err = fmt.Errorf("slack chat.postMessage: %w", err)
		switch {
		case se.Err == "ratelimited":
			return alert.RetryAfter(defaultRetryAfter, err)
		case transientAPIErrors[se.Err]:
			return err
		}
		return alert.Permanent(err)
	case errors.As(err, &sc):
		err = fmt.Errorf("slack chat.postMessage: %w", err)
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return alert.RetryAfter(defaultRetryAfter, err)
		case sc.Code/100 == 5:
			return err
		}
		return alert.Permanent(err)
	}
	return errorf("slack chat.postMessage", err)
}
