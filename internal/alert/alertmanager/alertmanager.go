package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
)

// Timing pinned by DESIGN.md: a firing alert is re-posted every minute and
// each post keeps it alive for three, so Alertmanager neither resolves it
// between posts nor keeps it long after pollerd died.
const (
	DefaultRepost   = time.Minute
	DefaultLifetime = 3 * time.Minute
	defaultTimeout  = 10 * time.Second
)

// Options configure a Notifier.
type Options struct {
	// URLs are the Alertmanagers, every instance of one cluster (the base
	// URL, with its route prefix if any; /api/v2/alerts is appended). They
	// may hold credentials, so they never appear in logs or errors.
	URLs []string
	// Reporter names this pollerd in the reporter annotation (the
	// hostname, usually). It is not a label: several instances reporting
	// one target make one alert.
	Reporter string
	// GeneratorURL is an optional link back (this instance's status page).
	GeneratorURL string
	// Repost is how often firing alerts are posted again; default 1m.
	Repost time.Duration
	// GroupOf names a target's group (targets[].group): the group label of
	// alerts restored from open incidents, which carry no message. Nil: no
	// group.
	GroupOf func(target string) string
	// Lifetime is how far ahead of each post endsAt is; default 3m. It
	// must exceed Repost.
	Lifetime time.Duration
	Client   *http.Client     // default: a client with a 10 s timeout
	Logger   *zap.Logger      // default: no logs
	Now      func() time.Time // default: time.Now
}

// Notifier posts target outages to Alertmanager and keeps them firing.
// It is safe for concurrent use. Restore it, Run it, Close it.
type Notifier struct {
	urls         []endpoint
	reporter     string
	generatorURL string
	repost       time.Duration
	lifetime     time.Duration
	client       *http.Client
	log          *zap.Logger
	now          func() time.Time
	groupOf      func(string) string

	// sendMu orders every post: a re-post never lands after the RECOVERED
	// that ended its alert (Alertmanager would fire it again).
	sendMu sync.Mutex
	mu     sync.Mutex
	firing map[string]firing // by target; written under sendMu and mu

	stopMu  sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	lastErr string // the re-post loop's last error, logged when it changes
}

var _ alert.Notifier = (*Notifier)(nil)

// New checks the options and returns a notifier; its loop is not running
// yet. Its errors never repeat a URL.
func New(o Options) (*Notifier, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("alertmanager: no url")
	}
	if o.Repost <= 0 {
		o.Repost = DefaultRepost
	}
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Lifetime <= o.Repost {
		return nil, fmt.Errorf("alertmanager: lifetime %s must exceed the re-post interval %s", o.Lifetime, o.Repost)
	}
	n := &Notifier{
		reporter:     o.Reporter,
		generatorURL: o.GeneratorURL,
		repost:       o.Repost,
		lifetime:     o.Lifetime,
		client:       o.Client,
		log:          o.Logger,
		now:          o.Now,
		firing:       make(map[string]firing),
	}
	for i, raw := range o.URLs {
		ep, err := newEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("alertmanager url %d: %w", i+1, err)
		}
		n.urls = append(n.urls, ep)
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: defaultTimeout}
	}
	if n.log == nil {
		n.log = zap.NewNop()
	}
	if n.now == nil {
		n.now = time.Now
	}
	n.groupOf = o.GroupOf
	if n.groupOf == nil {
		n.groupOf = func(string) string { return "" }
	}
	return n, nil
}

// Name is the channel name shown in logs and the status API.
func (n *Notifier) Name() string { return "alertmanager" }

// Notify posts a DOWN as a firing alert (and remembers it, to re-post) and
// a RECOVERED as the same alert ending at the recovery time (and forgets
// it, whether or not the post succeeds: a recovered target must not be
// re-posted as firing). A grouped DOWN or RECOVERED (Targets) is one alert
// per member, Alertmanager doing its own grouping. Every other kind is not
// sent: nil.
func (n *Notifier) Notify(ctx context.Context, m alert.Message) error {
	if m.Kind != alert.KindDown && m.Kind != alert.KindRecovered {
		return nil
	}
	if m.Target == "" {
		var errs []error
		for _, t := range m.Targets {
			mm := m
			mm.Target, mm.Targets = t, nil
			errs = append(errs, n.notifyOne(ctx, mm))
		}
		return errors.Join(errs...)
	}
	return n.notifyOne(ctx, m)
}

func (n *Notifier) notifyOne(ctx context.Context, m alert.Message) error {
	f := firing{target: m.Target, group: m.Group, summary: m.Text, since: m.Since}
	if f.since.IsZero() {
		f.since = m.At
	}
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	var a postableAlert
	if m.Kind == alert.KindDown {
		a = n.alert(f, f.summary, n.now().Add(n.lifetime))
	} else {
		n.mu.Lock()
		if prev, ok := n.firing[m.Target]; ok && prev.group != f.group {
			f.group = prev.group // resolve the alert that fired, whatever changed since
		}
		delete(n.firing, m.Target)
		n.mu.Unlock()
		ended := m.At
		if ended.IsZero() {
			ended = n.now()
		}
		a = n.alert(f, m.Text, ended)
	}
	body, err := encode([]postableAlert{a})
	if err != nil {
		return alert.Permanent(fmt.Errorf("encode alertmanager payload: %w", err))
	}
	accepted, err := n.postAll(ctx, body)
	n.log.Debug("alertmanager post", zap.String("key", m.Key), zap.String("kind", string(m.Kind)),
		zap.Int("accepted", accepted), zap.Int("urls", len(n.urls)), zap.Error(err))
	if err == nil && m.Kind == alert.KindDown {
		n.mu.Lock()
		n.firing[m.Target] = f
		n.mu.Unlock()
	}
	return err
}

// Restore marks the targets of open incidents as firing, so that a
// restarted pollerd goes on re-posting alerts it posted before it stopped
// (Alertmanager would otherwise resolve them after endsAt). The caller
// passes the open incidents of configured targets; other kinds are
// skipped. Call it before Run. The summary is rebuilt from the incident
// until the next DOWN or RECOVERED replaces it.
func (n *Notifier) Restore(open []incident.Incident) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, inc := range open {
		if inc.Kind != incident.KindTarget || !inc.Open() {
			continue
		}
		if _, ok := n.firing[inc.Subject]; ok {
			continue
		}
		summary := inc.Subject + " is DOWN"
		if inc.Cause != "" {
			summary += ": " + inc.Cause
		}
		n.firing[inc.Subject] = firing{target: inc.Subject, group: n.groupOf(inc.Subject), summary: alert.Truncate(summary, alert.MaxTextLen), since: inc.OpenedAt}
	}
}

// Firing lists the targets being kept firing, sorted.
func (n *Notifier) Firing() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.firing))
	for t := range n.firing {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Run starts the re-post loop: what is firing is posted at once (after a
// restart, the restored alerts), then every Repost. It returns at once;
// Close stops it. A second Run does nothing.
func (n *Notifier) Run(ctx context.Context) {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.done != nil {
		return
	}
	ctx, n.cancel = context.WithCancel(ctx)
	n.done = make(chan struct{})
	go func() {
		defer close(n.done)
		n.loop(ctx)
	}()
}

// Close stops the re-post loop and waits for it, or for ctx. The alerts
// stay firing in Alertmanager until their endsAt: a pollerd that stops
// for good lets them resolve within Lifetime; one that restarts re-posts
// them first.
func (n *Notifier) Close(ctx context.Context) error {
	n.stopMu.Lock()
	cancel, done := n.cancel, n.done
	n.stopMu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Notifier) loop(ctx context.Context) {
	tick := time.NewTicker(n.repost)
	defer tick.Stop()
	for {
		n.repostFiring(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// repostFiring posts every firing alert again, in one body, with endsAt
// pushed Lifetime ahead. A failure is logged when its text changes and
// otherwise left to the next tick, which comes well before endsAt.
func (n *Notifier) repostFiring(ctx context.Context) {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	n.mu.Lock()
	fs := make([]firing, 0, len(n.firing))
	for _, f := range n.firing {
		fs = append(fs, f)
	}
	n.mu.Unlock()
	if len(fs) == 0 || ctx.Err() != nil {
		return
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].target < fs[j].target })
	ends := n.now().Add(n.lifetime)
	alerts := make([]postableAlert, len(fs))
	for i, f := range fs {
		alerts[i] = n.alert(f, f.summary, ends)
	}
	body, err := encode(alerts)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, min(n.repost, defaultTimeout))
		_, err = n.postAll(ctx, body)
		cancel()
	}
	switch {
	case err != nil && err.Error() != n.lastErr:
		n.log.Warn("alertmanager re-post failed; the next one is in time if it succeeds before endsAt",
			zap.Int("alerts", len(alerts)), zap.Duration("next_in", n.repost), zap.Error(err))
	case err == nil && n.lastErr != "":
		n.log.Info("alertmanager re-post succeeded again", zap.Int("alerts", len(alerts)))
	}
	n.lastErr = ""
	if err != nil {
		n.lastErr = err.Error()
	}
	n.log.Debug("alertmanager re-posted", zap.Int("alerts", len(alerts)), zap.Error(err))
}
