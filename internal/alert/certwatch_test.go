package alert

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// certRecords is a CertStore that keeps what the sink's changes wrote.
type certRecords struct {
	mu   sync.Mutex
	rows map[string]incident.CertNotice
}

func (r *certRecords) CertNotices(context.Context) ([]incident.CertNotice, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []incident.CertNotice
	for _, n := range r.rows {
		out = append(out, n)
	}
	return out, nil
}

// certSink records messages and writes the changes' Certs to its records.
type certSink struct {
	recordSink
	recs *certRecords
}

func (s *certSink) Emit(c incident.Change, msgs ...Message) {
	s.recs.mu.Lock()
	for _, n := range c.Certs {
		s.recs.rows[n.Target] = n
	}
	s.recs.mu.Unlock()
	s.recordSink.Emit(c, msgs...)
}

func newTestCertWatch(t *testing.T, recs *certRecords) (*CertWatch, *certSink) {
	t.Helper()
	sink := &certSink{recs: recs}
	w := NewCertWatch(CertWatchOptions{
		Store: recs, Sink: sink,
		Thresholds:     map[string][]time.Duration{"api": {336 * time.Hour, 72 * time.Hour}, "mail": {72 * time.Hour}},
		TargetChannels: map[string][]string{"mail": {"email"}},
	})
	if err := w.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w, sink
}

func TestCertWatch_Observe(t *testing.T) {
	day := 24 * time.Hour
	notAfter := time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)
	before := func(d time.Duration) time.Time { return notAfter.Add(-d) }
	recs := &certRecords{rows: map[string]incident.CertNotice{}}
	w, sink := newTestCertWatch(t, recs)

	w.Observe("api", notAfter, before(20*day))
	w.Observe("api", time.Time{}, before(day)) // no certificate seen (a refused connection)
	w.Observe("web", notAfter, before(day))    // no cert_warn
	sink.want(t, 0)

	// Under 336h: one notice, however many probes see it.
	for i := range 5 {
		w.Observe("api", notAfter, before(13*day+12*time.Hour-time.Duration(i)*time.Minute))
	}
	m := sink.want(t, 1)[0]
	if m.Text != "certificate of api expires in 13d (2026-12-15)" || m.Kind != KindNotice || m.Target != "api" ||
		m.Key != "cert:api:1797328800:336h" {
		t.Errorf("notice = %q %s %q key %q", m.Text, m.Kind, m.Target, m.Key)
	}
	if strings.Contains(m.Text, "DOWN") || strings.Contains(m.Text, "RECOVERED") {
		t.Errorf("a notice says DOWN or RECOVERED: %q", m.Text)
	}

	// Under 72h: the second notice, once.
	w.Observe("api", notAfter, before(71*time.Hour))
	w.Observe("api", notAfter, before(70*time.Hour))
	if m := sink.want(t, 2)[1]; m.Text != "certificate of api expires in 2d (2026-12-15)" || m.Key != "cert:api:1797328800:72h" {
		t.Errorf("second notice = %q key %q", m.Text, m.Key)
	}

	t.Run("not again after a restart", func(t *testing.T) {
		w2, sink2 := newTestCertWatch(t, recs)
		w2.Observe("api", notAfter, before(60*time.Hour))
		w2.Observe("api", notAfter, before(time.Hour))
		sink2.want(t, 0)
	})

	t.Run("a renewed certificate re-arms", func(t *testing.T) {
		w2, sink2 := newTestCertWatch(t, recs)
		renewed := notAfter.Add(90 * day)
		w2.Observe("api", renewed, before(time.Hour)) // 90 days left
		sink2.want(t, 0)
		w2.Observe("api", renewed, renewed.Add(-300*time.Hour))
		if m := sink2.want(t, 1)[0]; !strings.Contains(m.Text, "expires in 12d (2027-03-15)") {
			t.Errorf("renewed notice = %q", m.Text)
		}
		// A backend still serving the old certificate floods nothing.
		w2.Observe("api", notAfter, before(time.Hour))
		w2.Observe("api", notAfter.Add(-day), before(time.Hour))
		sink2.want(t, 1)
	})

	t.Run("several thresholds at once: one notice, of the smallest", func(t *testing.T) {
		w2, sink2 := newTestCertWatch(t, &certRecords{rows: map[string]incident.CertNotice{}})
		w2.Observe("api", notAfter, before(5*time.Hour))
		w2.Observe("api", notAfter, before(4*time.Hour))
		m := sink2.want(t, 1)[0]
		if m.Text != "certificate of api expires in 0d (2026-12-15 10:00 UTC)" || m.Key != "cert:api:1797328800:72h" {
			t.Errorf("notice = %q key %q", m.Text, m.Key)
		}
	})

	t.Run("expired, narrowed to the target's channels", func(t *testing.T) {
		w2, sink2 := newTestCertWatch(t, &certRecords{rows: map[string]incident.CertNotice{}})
		w2.Observe("mail", notAfter, notAfter.Add(50*time.Hour))
		m := sink2.want(t, 1)[0]
		if m.Text != "certificate of mail expired 2d ago (2026-12-15)" || len(m.Channels) != 1 || m.Channels[0] != "email" {
			t.Errorf("notice = %q channels %v", m.Text, m.Channels)
		}
	})

	t.Run("SetTargets", func(t *testing.T) {
		w2, sink2 := newTestCertWatch(t, &certRecords{rows: map[string]incident.CertNotice{}})
		w2.SetTargets(map[string][]time.Duration{"web": {48 * time.Hour}}, nil)
		w2.Observe("api", notAfter, before(time.Hour))
		w2.Observe("web", notAfter, before(time.Hour))
		if m := sink2.want(t, 1)[0]; m.Target != "web" {
			t.Errorf("notice for %q, want web only", m.Target)
		}
	})
}

func BenchmarkCertWatch_ObserveUnwatched(b *testing.B) {
	w := NewCertWatch(CertWatchOptions{Sink: &recordSink{},
		Thresholds: map[string][]time.Duration{"api": {72 * time.Hour}}})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		w.Observe("web", now.Add(90*24*time.Hour), now)
	}
}
