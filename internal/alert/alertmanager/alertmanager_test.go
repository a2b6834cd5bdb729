package alertmanager

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

var (
	t0    = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	since = t0.Add(-2 * time.Minute)
)

func down(target, group string) alert.Message {
	return alert.Message{Key: "7:down", IncidentID: 7, Kind: alert.KindDown, Target: target, Group: group,
		Since: since, At: since, Text: target + " is DOWN: connection refused"}
}

func recovered(target, group string, at time.Time) alert.Message {
	return alert.Message{Key: "7:recovered", IncidentID: 7, Kind: alert.KindRecovered, Target: target, Group: group,
		Since: since, At: at, Text: target + " RECOVERED after 5m"}
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)  { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func newClock(t time.Time) *clock { return &clock{t: t} }

func newNotifier(t *testing.T, o Options) *Notifier {
	t.Helper()
	if o.Reporter == "" {
		o.Reporter = "vantage-1"
	}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

func TestNew_Refuses(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no url", Options{}, "no url"},
		{"not http", Options{URLs: []string{"ftp://am.example"}}, "url 1: want an absolute http(s) url"},
		{"relative", Options{URLs: []string{"http://am:9093", "am.example"}}, "url 2: want an absolute"},
		{"query", Options{URLs: []string{"http://am:9093/?x=1"}}, "no query"},
		{"lifetime under repost", Options{URLs: []string{"http://am:9093"}, Repost: time.Minute, Lifetime: 30 * time.Second}, "must exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// A DOWN is one alert, posted to every Alertmanager (route prefixes kept),
// with the pinned labels and annotations and endsAt three minutes ahead.
func TestNotifier_NotifyDown(t *testing.T) {
	a, b := newFakeAM(t, ""), newFakeAM(t, "/am")
	clk := newClock(t0)
	n := newNotifier(t, Options{URLs: []string{a.URL(), b.URL() + "/"}, Now: clk.Now, GeneratorURL: "https://status.example/"})
	if err := n.Notify(context.Background(), down("api", "homeserver")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeAM{a, b} {
		posts := f.Posts()
		if len(posts) != 1 || len(posts[0]) != 1 {
			t.Fatalf("posts = %+v, want one with one alert", posts)
		}
		if want := f.prefix + "/api/v2/alerts"; f.paths[0] != want {
			t.Errorf("path %q, want %q", f.paths[0], want)
		}
		got := posts[0][0]
		if got.Labels["alertname"] != "PollerdTargetDown" || got.Labels["target"] != "api" || got.Labels["group"] != "homeserver" || len(got.Labels) != 3 {
			t.Errorf("labels = %v", got.Labels)
		}
		if got.Annotations["summary"] != "api is DOWN: connection refused" || got.Annotations["reporter"] != "vantage-1" || len(got.Annotations) != 2 {
			t.Errorf("annotations = %v", got.Annotations)
		}
		if !got.StartsAt.Equal(since) || !got.EndsAt.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("startsAt %s endsAt %s, want %s and %s", got.StartsAt, got.EndsAt, since, t0.Add(3*time.Minute))
		}
		if got.GeneratorURL != "https://status.example/" {
			t.Errorf("generatorURL = %q", got.GeneratorURL)
		}
	}
	if got := n.Firing(); len(got) != 1 || got[0] != "api" {
		t.Errorf("Firing() = %v, want [api]", got)
	}
}

func TestNotifier_NotifyNoGroupLabelWhenUnset(t *testing.T) {
	a := newFakeAM(t, "")
	n := newNotifier(t, Options{URLs: []string{a.URL()}})
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		t.Fatal(err)
	}
	if l := a.Posts()[0][0].Labels; len(l) != 2 || l["target"] != "api" {
		t.Errorf("labels = %v, want alertname and target only", l)
	}
}

// Reports and notices are not Alertmanager's: accepted, nothing posted.
func TestNotifier_NotifyOtherKinds(t *testing.T) {
	a := newFakeAM(t, "")
	n := newNotifier(t, Options{URLs: []string{a.URL()}})
	for _, m := range []alert.Message{
		{Key: "3:report", Kind: alert.KindReport, Service: "app", Text: "app: 3 reports"},
		{Key: "4:notice", Kind: "NOTICE", Text: "pollerd lost connectivity for 5m"},
	} {
		if err := n.Notify(context.Background(), m); err != nil {
			t.Errorf("Notify(%s) = %v, want nil", m.Kind, err)
		}
	}
	if p := a.Posts(); len(p) != 0 {
		t.Errorf("posted %d times, want none", len(p))
	}
}

func TestNotifier_NotifyRecovered(t *testing.T) {
	a := newFakeAM(t, "")
	clk := newClock(t0)
	n := newNotifier(t, Options{URLs: []string{a.URL()}, Now: clk.Now})
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(5 * time.Minute)
	clk.Set(at.Add(time.Second)) // delivered a second after the recovery
	if err := n.Notify(context.Background(), recovered("api", "", at)); err != nil {
		t.Fatal(err)
	}
	got := a.Posts()[1][0]
	if !got.EndsAt.Equal(at) || !got.StartsAt.Equal(since) || got.Annotations["summary"] != "api RECOVERED after 5m" {
		t.Errorf("resolved post = %+v, want endsAt %s", got, at)
	}
	if f := n.Firing(); len(f) != 0 {
		t.Errorf("Firing() = %v after RECOVERED, want none", f)
	}
}

// One Alertmanager accepting is enough; otherwise the refusals decide.
func TestNotifier_Classify(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + l.Addr().String()
		l.Close()
		return u
	}
	type answer struct{ status, retryAfter int }
	tests := []struct {
		name     string
		answers  []answer
		closed   bool // one more URL where nothing listens
		wantNil  bool
		wantPerm bool
		wantWait time.Duration
	}{
		{name: "one of two accepts", answers: []answer{{500, 0}, {200, 0}}, wantNil: true},
		{name: "one accepts, one down", answers: []answer{{200, 0}}, closed: true, wantNil: true},
		{name: "all 5xx retry", answers: []answer{{500, 0}, {503, 0}}},
		{name: "unreachable retries", closed: true},
		{name: "all 400 permanent", answers: []answer{{400, 0}, {404, 0}}, wantPerm: true},
		{name: "400 and 500 retry", answers: []answer{{400, 0}, {500, 0}}},
		{name: "429 waits its Retry-After", answers: []answer{{429, 7}, {400, 0}}, wantWait: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var urls []string
			for _, a := range tt.answers {
				f := newFakeAM(t, "")
				f.answer(a.status, a.retryAfter, 0)
				urls = append(urls, f.URL())
			}
			if tt.closed {
				urls = append(urls, refused(t))
			}
			n := newNotifier(t, Options{URLs: urls})
			err := n.Notify(context.Background(), down("api", ""))
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Notify = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Notify = nil, want an error")
			}
			if got := alert.IsPermanent(err); got != tt.wantPerm {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.wantPerm, err)
			}
			if d, _ := alert.RetryAfterOf(err); d != tt.wantWait {
				t.Errorf("retry after %s, want %s (%v)", d, tt.wantWait, err)
			}
			if len(n.Firing()) != 0 {
				t.Errorf("a DOWN nobody accepted is firing: %v", n.Firing())
			}
		})
	}
}

// Credentials in a URL never reach an error or a log line.
func TestNotifier_NoSecretLeaks(t *testing.T) {
	const secret = "s3cretPassw0rd"
	ok, bad := newFakeAM(t, ""), newFakeAM(t, "")
	bad.answer(500, 0, 0)
	withCreds := func(f *fakeAM) string {
		return strings.Replace(f.URL(), "http://", "http://pollerd:"+secret+"@", 1) + "/" + alerttest.Secret
	}
	logger, logs := alerttest.CaptureLogs(t)
	n := newNotifier(t, Options{URLs: []string{withCreds(bad), withCreds(ok)}, Logger: logger, Repost: 10 * time.Millisecond, Lifetime: time.Second})
	var errs []byte
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		t.Fatal(err)
	}
	ok.answer(503, 0, 0)
	n.Run(context.Background())
	ok.waitPosts(t, 3, 5*time.Second)
	_ = n.Close(context.Background())
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		errs = append(errs, err.Error()...)
	} else {
		t.Fatal("Notify = nil with every alertmanager refusing")
	}
	hang, _ := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers: a timeout
	defer hang.Close()
	slow := newNotifier(t, Options{URLs: []string{"http://u:" + secret + "@" + hang.Addr().String() + "/" + alerttest.Secret},
		Client: &http.Client{Timeout: 50 * time.Millisecond}, Logger: logger})
	err := slow.Notify(context.Background(), down("api", ""))
	if err == nil || alert.IsPermanent(err) {
		t.Fatalf("timeout = %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q does not name the host", err)
	}
	errs = append(errs, err.Error()...)
	alerttest.AssertNoSecret(t, secret, errs, logs())
	alerttest.AssertNoSecret(t, alerttest.Secret, errs, logs())
	if !strings.Contains(string(logs()), "re-post failed") {
		t.Errorf("the failing re-post was not logged:\n%s", logs())
	}
}

// While firing, the alert is posted again every Repost with endsAt pushed
// ahead; after the RECOVERED it is never posted as firing again.
func TestNotifier_Repost(t *testing.T) {
	a := newFakeAM(t, "")
	clk := newClock(t0)
	n := newNotifier(t, Options{URLs: []string{a.URL()}, Now: clk.Now, Repost: 20 * time.Millisecond, Lifetime: 60 * time.Millisecond})
	n.Run(context.Background())
	if err := n.Notify(context.Background(), down("api", "homeserver")); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Minute))
	posts := a.waitPosts(t, 4, 5*time.Second)
	last := posts[len(posts)-1]
	if len(last) != 1 || last[0].Labels["group"] != "homeserver" || !last[0].EndsAt.Equal(t0.Add(time.Minute+60*time.Millisecond)) {
		t.Fatalf("re-post = %+v, want api ending at now+lifetime", last)
	}
	at := t0.Add(2 * time.Minute)
	if err := n.Notify(context.Background(), recovered("api", "", at)); err != nil {
		t.Fatal(err)
	}
	before := len(a.Posts())
	time.Sleep(100 * time.Millisecond) // five ticks
	posts = a.Posts()
	if len(posts) != before {
		t.Errorf("%d posts after the RECOVERED, want none", len(posts)-before)
	}
	final := posts[len(posts)-1][0]
	if !final.EndsAt.Equal(at) || final.Labels["group"] != "homeserver" {
		t.Errorf("last post = %+v, want the same alert (group kept) ending at %s", final, at)
	}
}

// A RECOVERED that arrives while a re-post is on the wire goes after it:
// the last thing Alertmanager hears is the resolve.
func TestNotifier_RecoveredAfterInflightRepost(t *testing.T) {
	a := newFakeAM(t, "")
	n := newNotifier(t, Options{URLs: []string{a.URL()}, Repost: 30 * time.Millisecond, Lifetime: time.Second})
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		t.Fatal(err)
	}
	a.answer(200, 0, 80*time.Millisecond) // re-posts are slow
	n.Run(context.Background())           // posts at once: in flight now
	time.Sleep(20 * time.Millisecond)
	at := time.Now()
	if err := n.Notify(context.Background(), recovered("api", "", at)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	posts := a.Posts()
	if final := posts[len(posts)-1][0]; !final.EndsAt.Equal(at.UTC()) {
		t.Errorf("last post ends %s, want the resolve at %s (%d posts)", final.EndsAt, at, len(posts))
	}
}

// After a restart the open incidents are firing again and posted at once,
// before any DOWN: Alertmanager must not resolve a target that is down.
func TestNotifier_Restore(t *testing.T) {
	a := newFakeAM(t, "")
	clk := newClock(t0)
	n := newNotifier(t, Options{URLs: []string{a.URL()}, Now: clk.Now, Repost: time.Hour, Lifetime: 2 * time.Hour,
		GroupOf: func(target string) string { return map[string]string{"api": "homeserver"}[target] }})
	n.Restore([]incident.Incident{
		{ID: 1, Kind: incident.KindTarget, Subject: "api", OpenedAt: since, Cause: "connection refused"},
		{ID: 2, Kind: incident.KindTarget, Subject: "db", OpenedAt: since, ClosedAt: t0},
		{ID: 3, Kind: incident.KindService, Subject: "app", OpenedAt: since},
		{ID: 4, Kind: incident.KindTarget, Subject: "cache", OpenedAt: since},
	})
	if got := strings.Join(n.Firing(), ","); got != "api,cache" {
		t.Fatalf("Firing() = %s, want api,cache", got)
	}
	n.Run(context.Background())
	post := a.waitPosts(t, 1, 5*time.Second)[0]
	if len(post) != 2 {
		t.Fatalf("first post holds %d alerts, want 2", len(post))
	}
	if p := post[0]; p.Labels["target"] != "api" || p.Labels["group"] != "homeserver" || p.Annotations["summary"] != "api is DOWN: connection refused" ||
		!p.StartsAt.Equal(since) || !p.EndsAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("restored alert = %+v", p)
	}
	if _, ok := post[1].Labels["group"]; ok {
		t.Errorf("cache in no group has a group label: %v", post[1].Labels)
	}
	if s := post[1].Annotations["summary"]; s != "cache is DOWN" {
		t.Errorf("summary without a cause = %q", s)
	}
}

func TestNotifier_CloseStopsLoop(t *testing.T) {
	a := newFakeAM(t, "")
	n := newNotifier(t, Options{URLs: []string{a.URL()}, Repost: 10 * time.Millisecond, Lifetime: time.Second})
	if err := n.Close(context.Background()); err != nil {
		t.Fatalf("Close before Run = %v", err)
	}
	if err := n.Notify(context.Background(), down("api", "")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.Run(ctx)
	n.Run(ctx) // a second Run does nothing
	a.waitPosts(t, 3, 5*time.Second)
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	before := len(a.Posts())
	time.Sleep(50 * time.Millisecond)
	if after := len(a.Posts()); after != before {
		t.Errorf("%d posts after Close", after-before)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestNotifier_ContextCancelled(t *testing.T) {
	a := newFakeAM(t, "")
	a.answer(200, 0, time.Second)
	n := newNotifier(t, Options{URLs: []string{a.URL()}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := n.Notify(ctx, down("api", ""))
	if err == nil || alert.IsPermanent(err) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Notify = %v, want a retryable error", err)
	}
}

// A grouped DOWN is one alert per member; its RECOVERED resolves each.
func TestNotifier_Grouped(t *testing.T) {
	a := newFakeAM(t, "")
	n := newNotifier(t, Options{URLs: []string{a.URL()}})
	m := alert.Message{Key: "7:down", Kind: alert.KindDown, Group: "homeserver", Targets: []string{"api", "db"},
		Text: "homeserver: 2 of 3 DOWN — api, db", Since: since, At: since}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.Firing(), ","); got != "api,db" {
		t.Fatalf("Firing() = %s, want api,db", got)
	}
	m.Kind, m.Key, m.At = alert.KindRecovered, "7:recovered", t0
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := n.Firing(); len(got) != 0 {
		t.Errorf("Firing() after the grouped RECOVERED = %v", got)
	}
	posts := a.Posts()
	if len(posts) != 4 || posts[0][0].Labels["target"] != "api" || posts[1][0].Labels["group"] != "homeserver" {
		t.Errorf("posts = %+v", posts)
	}
}
