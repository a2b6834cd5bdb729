package alert

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/incident"
)

// CertStore reads back the certificate notices already sent; *store.DB
// satisfies it. They are written with the notices' outbox rows, through the
// sink (incident.Change.Certs).
type CertStore interface {
	CertNotices(ctx context.Context) ([]incident.CertNotice, error)
}

// CertWatchOptions configure a CertWatch.
type CertWatchOptions struct {
	Store CertStore
	// Sink takes each notice with its record, written together (the outbox).
	Sink Sink
	// Thresholds are each target's cert_warn, longest first
	// (probe.CertWarnings); a target without any is not watched.
	Thresholds map[string][]time.Duration
	// TargetChannels narrow a target's notices as they narrow its DOWN.
	TargetChannels map[string][]string
	Logger         *zap.Logger
}

// CertWatch sends a certificate NOTICE as a target's certificate validity
// drops under each of its cert_warn thresholds: once per threshold per
// certificate, not once per probe, and not again after a restart. When
// validity crosses several thresholds at once (the first probe of a
// certificate already close to expiry), one notice tells of the smallest.
// A certificate with a later NotAfter (renewed) starts afresh; one with an
// earlier NotAfter than the one announced (a backend still serving the old
// certificate next to a renewed one) is left alone, so alternating backends
// cannot flood the channel.
type CertWatch struct {
	log  *zap.Logger
	sink Sink
	cfg  atomic.Pointer[certConfig]

	mu    sync.Mutex
	store CertStore
	sent  map[string]incident.CertNotice // by target: the last notice's certificate and threshold
}

type certConfig struct {
	thresholds map[string][]time.Duration
	channels   map[string][]string
}

// NewCertWatch builds a watch; Load restores what was sent before.
func NewCertWatch(o CertWatchOptions) *CertWatch {
	w := &CertWatch{log: o.Logger, sink: o.Sink, store: o.Store, sent: map[string]incident.CertNotice{}}
	if w.log == nil {
		w.log = zap.NewNop()
	}
	w.SetTargets(o.Thresholds, o.TargetChannels)
	return w
}

// SetTargets replaces the watched targets' thresholds and channels (a
// reload). What was sent for a target stays recorded.
func (w *CertWatch) SetTargets(thresholds map[string][]time.Duration, channels map[string][]string) {
	th := make(map[string][]time.Duration, len(thresholds))
	for t, ds := range thresholds {
		if len(ds) > 0 {
			th[t] = slices.Clone(ds)
		}
	}
	w.cfg.Store(&certConfig{thresholds: th, channels: channels})
}

// Load reads the notices sent before the last stop. Call it once, before
// the first Observe.
func (w *CertWatch) Load(ctx context.Context) error {
	if w.store == nil {
		return nil
	}
	sent, err := w.store.CertNotices(ctx)
	if err != nil {
		return fmt.Errorf("load certificate notices: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range sent {
		w.sent[n.Target] = n
	}
	return nil
}

// Observe takes one probe's certificate expiry (zero: no certificate seen)
// at the probe's time, and emits a notice when it crossed a threshold not
// yet announced for that certificate. It is cheap for targets without
// cert_warn: the monitor calls it for every probe.
func (w *CertWatch) Observe(target string, notAfter, at time.Time) {
	if notAfter.IsZero() {
		return
	}
	cfg := w.cfg.Load()
	ths := cfg.thresholds[target]
	if len(ths) == 0 {
		return
	}
	left := notAfter.Sub(at)
	var crossed time.Duration // the smallest threshold validity is under
	for _, th := range ths {
		if left < th && (crossed == 0 || th < crossed) {
			crossed = th
		}
	}
	if crossed == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.sent[target]; ok {
		switch {
		case notAfter.Before(prev.NotAfter):
			return // an older certificate than one announced
		case notAfter.Equal(prev.NotAfter) && prev.Threshold <= crossed:
			return // this threshold, or a smaller one, was announced
		}
	}
	rec := incident.CertNotice{Target: target, NotAfter: notAfter, Threshold: crossed, At: at}
	w.sent[target] = rec
	m := certMessage(rec, left)
	if ch := cfg.channels[target]; len(ch) > 0 {
		m.Channels = slices.Clone(ch)
	}
	w.log.Info("certificate notice", zap.String("target", target), zap.Time("not_after", notAfter),
		zap.Duration("threshold", crossed))
	w.sink.Emit(incident.Change{Certs: []incident.CertNotice{rec}}, m)
}

// certMessage is the notice for rec, validity left at its time:
// "certificate of api expires in 13d (2026-12-15)". Its key names the
// certificate and the threshold, so a replayed write is one message.
func certMessage(rec incident.CertNotice, left time.Duration) Message {
	day := 24 * time.Hour
	date := rec.NotAfter.UTC().Format(time.DateOnly)
	var when string
	switch {
	case left <= 0:
		when = fmt.Sprintf("expired %dd ago", int(-left/day))
	case left < day:
		when, date = "expires in 0d", rec.NotAfter.UTC().Format("2006-01-02 15:04 UTC")
	default:
		when = fmt.Sprintf("expires in %dd", int(left/day))
	}
	title := fmt.Sprintf("certificate of %s %s", rec.Target, when)
	daysLeft := max(0, int(left/day))
	return finish(Message{
		Key:    "cert:" + rec.Target + ":" + strconv.FormatInt(rec.NotAfter.Unix(), 10) + ":" + shortDuration(rec.Threshold),
		Kind:   KindNotice,
		Target: rec.Target,
		At:     rec.At,
		Title:  title,
		Text:   fmt.Sprintf("%s (%s)", title, date),
		Fields: []Field{
			{Label: "Expires", Value: formatTime(rec.NotAfter)},
			{Label: "Days left", Value: strconv.Itoa(daysLeft)},
			{Label: "Warning", Value: "under cert_warn " + shortDuration(rec.Threshold)},
		},
	})
}
