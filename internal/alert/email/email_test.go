package email

import (
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/incident"
)

const password = "SMTPPASS-" + alerttest.Secret

func downMessage() alert.Message {
	at := time.Date(2025, 3, 1, 12, 4, 12, 0, time.UTC)
	return alert.Message{Key: "42:down", IncidentID: 42, Kind: alert.KindDown, Target: "api", Since: at, At: at,
		Text:   "api is DOWN: connection refused",
		Fields: []alert.Field{{Label: "Reason", Value: "connection refused"}, {Label: "Down since", Value: "12:04:12 UTC"}},
		Detail: "a longer detail line with ünïcödé and a lone dot:\n.\nend"}
}

// options for a server with STARTTLS and AUTH, trusting its certificate.
func options(s *testServer, mod ...func(*Options)) Options {
	o := Options{Addr: s.addr, Username: "pollerd", Password: password, From: "Pollerd <pollerd@example.com>",
		To: []string{"owner@example.com", "Ops <ops@example.com>"}, Timeout: 5 * time.Second}
	if s.roots != nil {
		o.TLSConfig = &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	for _, m := range mod {
		m(&o)
	}
	return o
}

func newEmail(t *testing.T, o Options) *Email {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEmail_Notify(t *testing.T) {
	s := startServer(t, withTLS, withAuth("pollerd", password))
	logger, logs := alerttest.CaptureLogs(t)
	e := newEmail(t, options(s, func(o *Options) { o.Logger = logger }))
	if err := e.Notify(context.Background(), downMessage()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	mails := s.Mails()
	if len(mails) != 1 {
		t.Fatalf("server got %d mails, want 1", len(mails))
	}
	got := mails[0]
	if !got.tls || got.user != "pollerd" || got.from != "pollerd@example.com" ||
		!slices.Equal(got.to, []string{"owner@example.com", "ops@example.com"}) {
		t.Errorf("session: tls %v user %q from %q to %v", got.tls, got.user, got.from, got.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, got.data)
	}
	h := msg.Header
	for key, want := range map[string]string{
		"Subject":      "api is DOWN: connection refused",
		"From":         `"Pollerd" <pollerd@example.com>`,
		"To":           `<owner@example.com>, "Ops" <ops@example.com>`,
		"Message-Id":   "<pollerd.42.down@example.com>",
		"Date":         "Sat, 01 Mar 2025 12:04:12 +0000",
		"Content-Type": "text/plain; charset=utf-8",
	} {
		if h.Get(key) != want {
			t.Errorf("%s = %q, want %q", key, h.Get(key), want)
		}
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if want := Body(downMessage()); string(body) != want {
		t.Errorf("body %q, want %q", body, want)
	}
	alerttest.AssertNoSecret(t, password, logs())
}

func TestEmail_NotifyClassifies(t *testing.T) {
	tests := []struct {
		name     string
		server   []serverOpt
		mod      func(*Options)
		wantPerm bool
		wantText string
	}{
		{name: "required STARTTLS, server without it", server: []serverOpt{withAuth("pollerd", password)},
			wantPerm: true, wantText: "offers no STARTTLS"},
		{name: "opportunistic with credentials, server without STARTTLS", server: []serverOpt{withAuth("pollerd", password)},
			mod: func(o *Options) { o.StartTLS = StartTLSOpportunistic }, wantPerm: true, wantText: "refusing to send credentials"},
		{name: "certificate not trusted", server: []serverOpt{withTLS},
			mod: func(o *Options) { o.TLSConfig = nil; o.Username = "" }, wantPerm: true, wantText: "starttls"},
		{name: "421 greeting retries", server: []serverOpt{withGreeting("421 4.3.2 busy, try later")}, wantText: "421"},
		{name: "554 greeting is final", server: []serverOpt{withGreeting("554 5.7.1 go away")}, wantPerm: true, wantText: "554"},
		{name: "wrong password is final", server: []serverOpt{withTLS, withAuth("pollerd", "other")}, wantPerm: true, wantText: "auth: 535"},
		{name: "451 on MAIL retries", server: []serverOpt{withTLS, withAuth("pollerd", password), withScript("mail", "451 4.3.0 try again")}, wantText: "mail from: 451"},
		{name: "550 on RCPT is final", server: []serverOpt{withTLS, withAuth("pollerd", password), withScript("rcpt", "550 5.1.1 no such user")}, wantPerm: true, wantText: "rcpt to: 550"},
		{name: "452 on RCPT retries", server: []serverOpt{withTLS, withAuth("pollerd", password), withScript("rcpt", "452 4.2.2 mailbox full")}, wantText: "452"},
		{name: "451 after DATA retries", server: []serverOpt{withTLS, withAuth("pollerd", password), withScript("data", "451 4.7.1 greylisted")}, wantText: "data: 451"},
		{name: "554 after DATA is final", server: []serverOpt{withTLS, withAuth("pollerd", password), withScript("data", "554 5.7.1 spam")}, wantPerm: true, wantText: "data: 554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.server...)
			logger, logs := alerttest.CaptureLogs(t)
			o := options(s, func(o *Options) { o.Logger = logger })
			if tt.mod != nil {
				tt.mod(&o)
			}
			err := newEmail(t, o).Notify(context.Background(), downMessage())
			if err == nil {
				t.Fatal("Notify = nil, want an error")
			}
			if alert.IsPermanent(err) != tt.wantPerm {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tt.wantPerm, tt.wantPerm)
			}
			if _, limited := alert.RetryAfterOf(err); limited {
				t.Errorf("RetryAfterOf(%v): an SMTP error is no rate limit", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q lacks %q", err, tt.wantText)
			}
			if len(s.Mails()) != 0 {
				t.Errorf("a mail was accepted")
			}
			s.mu.Lock()
			if len(s.authLog) > 0 {
				t.Errorf("credentials sent in clear")
			}
			s.mu.Unlock()
			alerttest.AssertNoSecret(t, password, []byte(err.Error()), logs())
		})
	}
}

func TestEmail_NotifyPlain(t *testing.T) {
	// starttls none (loopback only) and opportunistic without STARTTLS send
	// in clear; none never tries STARTTLS even when offered.
	for _, mode := range []string{StartTLSNone, StartTLSOpportunistic} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t)
			e := newEmail(t, options(s, func(o *Options) { o.StartTLS = mode; o.Username, o.Password = "", "" }))
			if err := e.Notify(context.Background(), downMessage()); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if m := s.Mails(); len(m) != 1 || m[0].tls {
				t.Errorf("mails %+v, want one in clear", m)
			}
		})
	}
	t.Run("none ignores an offered STARTTLS", func(t *testing.T) {
		s := startServer(t, withTLS, withAuth("pollerd", password))
		e := newEmail(t, options(s, func(o *Options) { o.StartTLS = StartTLSNone }))
		if err := e.Notify(context.Background(), downMessage()); err != nil {
			t.Fatalf("Notify: %v", err)
		}
		if m := s.Mails(); len(m) != 1 || m[0].tls || m[0].user != "pollerd" {
			t.Errorf("mails %+v, want one in clear with auth (loopback)", m)
		}
	})
}

func TestEmail_NotifyNetworkErrors(t *testing.T) {
	s := startServer(t)
	addr := s.addr
	_ = s.l.Close()
	err := newEmail(t, options(s, func(o *Options) { o.Addr = addr })).Notify(context.Background(), downMessage())
	if err == nil || alert.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a retry", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2 := startServer(t, withTLS)
	err = newEmail(t, options(s2)).Notify(ctx, downMessage())
	if err == nil || alert.IsPermanent(err) {
		t.Errorf("cancelled: %v, want a retry", err)
	}
}

// Through the outbox: a 451 after DATA, then success, delivers once with
// the same Message-ID.
func TestEmail_RetriedThroughOutbox(t *testing.T) {
	s := startServer(t, withTLS, withAuth("pollerd", password), withScript("data", "451 4.7.1 greylisted"))
	e := newEmail(t, options(s))
	store := alerttest.NewStore()
	ob, err := outbox.New(outbox.Options{Store: store, Channels: []outbox.Channel{{Notifier: e}},
		BackoffBase: 10 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ob.Close(ctx)
	})
	m := downMessage()
	ob.Emit(incident.Change{Incidents: []incident.Incident{{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: m.At}}}, m)
	for end := time.Now().Add(5 * time.Second); store.StatusOf("42:down") != incident.DeliveryDelivered; {
		if time.Now().After(end) {
			t.Fatalf("delivery status %q, want delivered", store.StatusOf("42:down"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	mails := s.Mails()
	if len(mails) != 1 {
		t.Fatalf("got %d mails, want 1", len(mails))
	}
	if !strings.Contains(mails[0].data, "Message-ID: <pollerd.42.down@example.com>") {
		t.Errorf("mail lacks its Message-ID:\n%s", mails[0].data)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ text, want string }{
		{"api is DOWN: refused\nmore", "api is DOWN: refused"},
		{"shop: GET /x\r\nBcc: evil@example.com", "shop: GET /x"},
		{"a\rTo: evil@example.com", "a"},
		{"tab\there\x00\x1b[31m", "tabhere[31m"},
		{"", "DOWN"},
		{strings.Repeat("é", 300), strings.Repeat("é", maxSubject-1) + "…"},
	}
	for _, tt := range tests {
		if got := Subject(alert.Message{Kind: alert.KindDown, Text: tt.text}); got != tt.want {
			t.Errorf("Subject(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// FuzzCompose: whatever the text, the mail has exactly our headers, and
// its subject decodes to Subject.
func FuzzCompose(f *testing.F) {
	f.Add("api is DOWN\r\nBcc: evil@example.com\r\n\r\nbody")
	f.Add("떡볶이 지도: GET /api/stores → 502 " + strings.Repeat("가", 150))
	f.Add("=?utf-8?q?Bcc:_x?=\n.\r\n.")
	from, _ := mail.ParseAddress("Pollerd <pollerd@example.com>")
	to, _ := mail.ParseAddress("owner@example.com")
	f.Fuzz(func(t *testing.T, text string) {
		m := alert.Message{Key: "1:report", Kind: alert.KindReport, Text: text, Detail: text}
		raw, err := compose(m, from, []*mail.Address{to}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("not a mail: %v", err)
		}
		var keys []string
		for k := range msg.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
		if !slices.Equal(keys, want) {
			t.Fatalf("headers %v, want %v", keys, want)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("a line of %d bytes", len(line))
			}
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || subj != Subject(m) {
			t.Fatalf("subject %q (%v), want %q", subj, err, Subject(m))
		}
	})
}

func TestNew(t *testing.T) {
	good := Options{Addr: "smtp.example.com:587", From: "a@example.com", To: []string{"b@example.com"}, Password: password}
	for name, mod := range map[string]func(*Options){
		"no port":               func(o *Options) { o.Addr = "smtp.example.com" },
		"none to a remote host": func(o *Options) { o.StartTLS = StartTLSNone },
		"unknown starttls":      func(o *Options) { o.StartTLS = "always" },
		"bad from":              func(o *Options) { o.From = "nope" },
		"no recipient":          func(o *Options) { o.To = nil },
		"bad recipient":         func(o *Options) { o.To = []string{"nope"} },
	} {
		o := good
		mod(&o)
		_, err := New(o)
		if err == nil {
			t.Errorf("%s: New accepted it", name)
			continue
		}
		alerttest.AssertNoSecret(t, password, []byte(err.Error()))
	}
	e, err := New(good)
	if err != nil || e.Name() != "email" || e.o.StartTLS != StartTLSRequired {
		t.Errorf("New = %+v, %v", e, err)
	}
}
