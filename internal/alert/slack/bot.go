package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

// RefStore keeps the reference of an incident's first Slack message in the
// incident's row, so that its thread outlives a restart. *store.DB
// satisfies it.
type RefStore interface {
	// MessageRef returns the incident's ref; "" when it has none.
	MessageRef(ctx context.Context, incidentID int64) (string, error)
	// SetMessageRef keeps ref in the incident's row.
	SetMessageRef(ctx context.Context, incidentID int64, ref string) error
}

// BotOptions configures a Bot (Web API, bot-token mode).
type BotOptions struct {
	Token   string       // xoxb-…; a secret
	Channel string       // channel id or name
	APIURL  string       // default slack.APIURL; tests point it at slacktest
	Refs    RefStore     // where threads are remembered; nil: in memory only (tests)
	Client  *http.Client // default: a client with a 10 s timeout
	Logger  *zap.Logger  // default: no logs
}

// Bot posts messages with the Web API and tells each incident's story in
// one thread: the incident's first message (its DOWN) is posted to the
// channel, and its ref (channel id and ts) kept in the incident's row;
// every later message about the incident (reports, reminders, follow-ups,
// the RECOVERED) replies in that thread, and the RECOVERED also updates the
// first message to show the incident resolved. The outbox delivers one
// channel's messages in commit order, so the DOWN's ref is known before
// anything replies to it.
type Bot struct {
	api     *slack.Client
	channel string
	log     *zap.Logger

	mu   sync.Mutex
	refs RefStore
	seen map[int64]string // refs of open threads: fewer reads, and threads while the store fails
}

var _ alert.Notifier = (*Bot)(nil)

// maxSeen bounds the refs held in memory; past it they are read again from
// the store.
const maxSeen = 10_000

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
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/" // slack-go appends the method name
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	b := &Bot{
		api:     slack.New(o.Token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(client)),
		channel: o.Channel,
		log:     o.Logger,
		refs:    o.Refs,
		seen:    make(map[int64]string),
	}
	if b.log == nil {
		b.log = zap.NewNop()
	}
	return b, nil
}

// UseRefs makes the bot keep its threads in s; call it before the first
// Notify. cmd/pollerd gives it the store, which channel constructors lack.
func (b *Bot) UseRefs(s RefStore) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs = s
}

// Name is the channel name shown in logs and the status API.
func (b *Bot) Name() string { return "slack" }

// Notify delivers m: the first message of an incident (or one of none) is
// posted to the channel, later ones reply in the incident's thread, and a
// RECOVERED first updates the incident's first message. Errors are
// classified like the webhook's (see classifyAPI).
func (b *Bot) Notify(ctx context.Context, m alert.Message) error {
	if m.IncidentID == 0 {
		_, _, err := b.post(ctx, b.channel, "", m)
		return err
	}
	ref := b.ref(ctx, m.IncidentID)
	if ref == "" {
		channel, ts, err := b.post(ctx, b.channel, "", m)
		if err != nil {
			return err
		}
		if m.Kind != alert.KindRecovered {
			b.remember(ctx, m.IncidentID, channel+":"+ts)
		}
		return nil
	}
	if m.Key == strconv.FormatInt(m.IncidentID, 10)+":down" {
		// The DOWN again, with its ref kept: it was posted and the process
		// stopped before it was marked delivered. Posting it again would be
		// the one duplicate the outbox cannot rule out.
		b.log.Info("slack: DOWN already posted, not posting it again", zap.String("key", m.Key))
		return nil
	}
	channel, ts := splitRef(ref, b.channel)
	if m.Kind == alert.KindRecovered {
		if err := b.resolve(ctx, channel, ts, m); err != nil {
			return err
		}
	}
	if _, _, err := b.post(ctx, channel, ts, m); err != nil {
		return err
	}
	if m.Kind == alert.KindRecovered {
		b.forget(m.IncidentID)
	}
	return nil
}

// post sends m with chat.postMessage, in the thread of threadTS when it is
// set, and returns the channel id and ts Slack gave it.
func (b *Bot) post(ctx context.Context, channel, threadTS string, m alert.Message) (string, string, error) {
	p := Payload(m)
	opts := []slack.MsgOption{slack.MsgOptionText(p.Text, false), slack.MsgOptionBlocks(p.Blocks.BlockSet...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := b.api.PostMessageContext(ctx, channel, opts...)
	err = classifyAPI("chat.postMessage", err)
	b.log.Debug("slack chat.postMessage answered", zap.String("key", m.Key),
		zap.String("thread_ts", threadTS), zap.String("ts", ts), zap.Error(err))
	if err != nil {
		return "", "", err
	}
	if ch == "" {
		ch = channel
	}
	return ch, ts, nil
}

// resolve updates the incident's first message to say it is resolved and
// for how long. A rate limit or a transient error is returned, and the
// whole message retried (an update is idempotent); a permanent one (the
// message was deleted, or is too old to edit) is logged and the reply is
// posted all the same.
func (b *Bot) resolve(ctx context.Context, channel, ts string, m alert.Message) error {
	p := ResolvedPayload(m)
	_, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(p.Text, false), slack.MsgOptionBlocks(p.Blocks.BlockSet...))
	err = classifyAPI("chat.update", err)
	b.log.Debug("slack chat.update answered", zap.String("key", m.Key), zap.String("ts", ts), zap.Error(err))
	if err != nil && !alert.IsPermanent(err) {
		return err
	}
	if err != nil {
		b.log.Warn("slack: could not mark the DOWN message resolved; replying in its thread only",
			zap.String("key", m.Key), zap.Error(err))
	}
	return nil
}

// ref returns the incident's thread ref: from memory, else from the
// store. A store that cannot be read costs the thread, not the message.
func (b *Bot) ref(ctx context.Context, id int64) string {
	b.mu.Lock()
	ref, refs := b.seen[id], b.refs
	b.mu.Unlock()
	if ref != "" || refs == nil {
		return ref
	}
	ref, err := refs.MessageRef(ctx, id)
	if err != nil {
		b.log.Warn("slack: thread of the incident unknown, posting to the channel", zap.Int64("incident", id), zap.Error(err))
		return ""
	}
	return ref
}

// remember keeps an incident's ref in memory and in the store. A store
// error is logged, not returned: the message was delivered, and returning
// an error would post it again.
func (b *Bot) remember(ctx context.Context, id int64, ref string) {
	b.mu.Lock()
	if len(b.seen) >= maxSeen {
		clear(b.seen)
	}
	b.seen[id] = ref
	refs := b.refs
	b.mu.Unlock()
	if refs == nil {
		return
	}
	if err := refs.SetMessageRef(context.WithoutCancel(ctx), id, ref); err != nil {
		b.log.Warn("slack: thread not saved; after a restart this incident's messages go to the channel",
			zap.Int64("incident", id), zap.Error(err))
	}
}

func (b *Bot) forget(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.seen, id)
}

// splitRef reads a ref "<channel id>:<ts>"; a bare ts is in channel.
func splitRef(ref, channel string) (string, string) {
	if ch, ts, ok := strings.Cut(ref, ":"); ok && ch != "" {
		return ch, ts
	}
	return channel, ref
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

// classifyAPI is classify for slack-go's errors from a Web API method: a
// rate limit waits its Retry-After, Slack's error strings are permanent
// unless transient, HTTP 5xx and network errors retry, other HTTP errors
// are permanent.
func classifyAPI(method string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &rl):
		return alert.RetryAfter(alert.ClampRetryAfter(rl.RetryAfter), fmt.Errorf("slack %s: %w", method, err))
	case errors.As(err, &se):
		err = fmt.Errorf("slack %s: %w", method, err)
		switch {
		case se.Err == "ratelimited":
			return alert.RetryAfter(alert.DefaultRetryAfter, err)
		case transientAPIErrors[se.Err]:
			return err
		}
		return alert.Permanent(err)
	case errors.As(err, &sc):
		err = fmt.Errorf("slack %s: %w", method, err)
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return alert.RetryAfter(alert.DefaultRetryAfter, err)
		case sc.Code/100 == 5:
			return err
		}
		return alert.Permanent(err)
	}
	return errorf("slack "+method, err)
}
