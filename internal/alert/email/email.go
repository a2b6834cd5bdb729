package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

// STARTTLS modes.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
	StartTLSNone          = "none"
)

const defaultTimeout = 30 * time.Second

// Options configure an Email channel.
type Options struct {
	Addr     string   // the SMTP server, host:port
	Username string   // AUTH PLAIN when set
	Password string   // a secret
	From     string   // RFC 5322 address, with or without a display name
	To       []string // at least one
	StartTLS string   // required (default), opportunistic or none
	// TLSConfig is cloned for STARTTLS; its ServerName defaults to the
	// host. Tests set RootCAs.
	TLSConfig *tls.Config
	Hello     string        // the EHLO name; default "localhost"
	Timeout   time.Duration // the whole session; default 30s
	Logger    *zap.Logger
	Now       func() time.Time
}

// Email sends messages by SMTP, one session per message. It is safe for
// concurrent use.
type Email struct {
	o    Options
	host string
	from *mail.Address
	to   []*mail.Address
	log  *zap.Logger
}

var _ alert.Notifier = (*Email)(nil)

// New checks the options. Its errors never hold the password.
func New(o Options) (*Email, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil || host == "" {
		return nil, errors.New("email: smtp: want host:port")
	}
	switch o.StartTLS {
	case "":
		o.StartTLS = StartTLSRequired
	case StartTLSRequired, StartTLSOpportunistic:
	case StartTLSNone:
		if !isLoopback(host) {
			return nil, errors.New("email: starttls none is only for a loopback smtp host")
		}
	default:
		return nil, fmt.Errorf("email: starttls %q: want required, opportunistic or none", o.StartTLS)
	}
	e := &Email{o: o, host: host, log: o.Logger}
	if e.from, err = mail.ParseAddress(o.From); err != nil {
		return nil, fmt.Errorf("email: from: %w", err)
	}
	if len(o.To) == 0 {
		return nil, errors.New("email: no recipient")
	}
	for _, s := range o.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: to %q: %w", s, err)
		}
		e.to = append(e.to, a)
	}
	if e.o.Hello == "" {
		e.o.Hello = "localhost"
	}
	if e.o.Timeout <= 0 {
		e.o.Timeout = defaultTimeout
	}
	if e.o.Now == nil {
		e.o.Now = time.Now
	}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	return e, nil
}

// Name is the channel name.
func (e *Email) Name() string { return "email" }

// Notify sends m in one SMTP session and classifies what went wrong: a 4xx
// reply or a connection error is retried, a 5xx reply, a server without
// STARTTLS when it is required, a certificate that does not verify or
// credentials that would go in clear are permanent.
func (e *Email) Notify(ctx context.Context, m alert.Message) error {
	msg, err := compose(m, e.from, e.to, e.o.Now())
	if err != nil {
		return alert.Permanent(fmt.Errorf("email: compose: %w", err))
	}
	err = e.send(ctx, msg)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	e.log.Debug("smtp session ended", zap.String("key", m.Key), zap.String("server", e.o.Addr), zap.Error(err))
	return err
}

func (e *Email) send(ctx context.Context, msg []byte) error {
	deadline := time.Now().Add(e.o.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", e.o.Addr)
	if err != nil {
		return fmt.Errorf("email: connect: %w", err)
	}
	// net/smtp takes no context: the deadline bounds every read and write,
	// and a cancelled ctx closes the connection under it.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { _ = conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		_ = conn.Close()
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.o.Hello); err != nil {
		return classify("ehlo", err)
	}
	tlsOn := false
	if e.o.StartTLS != StartTLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if e.o.TLSConfig != nil {
				cfg = e.o.TLSConfig.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = e.host
			}
			if err := c.StartTLS(cfg); err != nil {
				return classify("starttls", err)
			}
			tlsOn = true
		} else if e.o.StartTLS == StartTLSRequired {
			return alert.Permanent(errors.New("email: the smtp server offers no STARTTLS (starttls: required)"))
		}
	}
	if e.o.Username != "" {
		// In clear only with starttls none, which is only for loopback.
		if !tlsOn && e.o.StartTLS != StartTLSNone {
			return alert.Permanent(errors.New("email: refusing to send credentials without TLS (the server offers no STARTTLS)"))
		}
		if err := c.Auth(smtp.PlainAuth("", e.o.Username, e.o.Password, e.host)); err != nil {
			return classify("auth", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return classify("mail from", err)
	}
	for _, to := range e.to {
		if err := c.Rcpt(to.Address); err != nil {
			return classify("rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return classify("data", err)
	}
	if err := w.Close(); err != nil { // the server's verdict on the message
		return classify("data", err)
	}
	_ = c.Quit() // accepted: a failing QUIT changes nothing
	return nil
}

// maxReply bounds how much of a server's reply an error keeps.
const maxReply = 200

// classify makes an SMTP error an outbox verdict: 5xx replies permanent,
// 4xx replies retried; a certificate that does not verify permanent; any
// other error (connection, timeout) retried.
func classify(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		reply := te.Msg
		if len(reply) > maxReply {
			reply = reply[:maxReply] + "…"
		}
		out := &ReplyError{Step: step, Code: te.Code, Msg: reply}
		if te.Code >= 500 {
			return alert.Permanent(out)
		}
		return out
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return alert.Permanent(fmt.Errorf("email: %s: %w", step, err))
	}
	if strings.Contains(err.Error(), "unencrypted connection") { // net/smtp's PlainAuth refusal
		return alert.Permanent(fmt.Errorf("email: %s: %w", step, err))
	}
	return fmt.Errorf("email: %s: %w", step, err)
}

// ReplyError is an SMTP server's refusal: the step, its reply code and text.
type ReplyError struct {
	Step string
	Code int
	Msg  string
}

func (e *ReplyError) Error() string { return fmt.Sprintf("email: %s: %d %s", e.Step, e.Code, e.Msg) }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
