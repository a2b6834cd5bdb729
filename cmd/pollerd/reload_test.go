package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/config"
)

// Loading the same file twice gives targets the monitor sees as unchanged
// (reflect.DeepEqual on compiled regexes, parsed URLs, cron schedules…),
// so a reload that does not touch a target keeps its state and slot.
func TestReload_SameFileSameTargets(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	if len(files) == 0 {
		t.Skip("no example configs")
	}
	env := func(name string) (string, bool) {
		switch {
		case strings.HasPrefix(name, "POLLERD_"):
			return "", false
		case strings.Contains(name, "URL"):
			return "https://hooks.example.com/x", true
		}
		return "x", true
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			a, _, err := config.LoadHashed(f, env)
			if err != nil {
				t.Skipf("example needs more environment: %v", err)
			}
			b, _, err := config.LoadHashed(f, env)
			if err != nil {
				t.Fatal(err)
			}
			ta, tb := monitorTargets(a), monitorTargets(b)
			for i := range ta {
				if !reflect.DeepEqual(ta[i], tb[i]) {
					t.Errorf("target %s differs between two loads", ta[i].Probe.Name)
				}
			}
			if got := restartFields(a, b); len(got) != 0 {
				t.Errorf("restartFields of the same file = %v", got)
			}
		})
	}
}

func TestRestartFields(t *testing.T) {
	old := &config.Config{Listen: "127.0.0.1:8080", StateDir: "/var/lib/pollerd"}
	next := *old
	next.Listen = "127.0.0.1:9090"
	next.StatusPage.Title = "Home"                // follows: not listed
	next.StatusPage.Enabled = true                // read at start
	next.Targets = []config.Target{{Name: "api"}} // applied live: not listed
	next.Alerting.RepeatInterval = time.Hour      // follows
	next.Canaries = config.Canaries{Targets: []string{"api"}, Quorum: 1}
	next.API.AdminToken = "t"
	next.Heartbeat.Interval = time.Minute
	if got, want := restartFields(old, &next), []string{"listen", "status_page.enabled"}; !slices.Equal(got, want) {
		t.Errorf("restartFields = %v, want %v", got, want)
	}
}

// A reload rebuilds only the channels whose config changed: an unchanged
// one is the same Notifier (the outbox keeps its queue), a webhook with a
// new URL is a new one, an added one is built, a removed one is gone.
func TestChannelSet_Prepare(t *testing.T) {
	cfg := &config.Config{Alerting: config.Alerting{Webhooks: []config.Webhook{
		{Name: "ops", URL: "https://ops.example.com/hook"}, {Name: "dev", URL: "https://dev.example.com/hook"}}}}
	channels, err := buildChannels(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	set := &channelSet{built: map[string]builtChannel{}}
	for _, c := range cfg.Alerting.Channels() {
		for _, ch := range channels {
			if ch.Notifier.Name() == c.Name {
				set.built[c.Name] = builtChannel{ch: ch, from: channelSource(cfg, c)}
			}
		}
	}
	next := &config.Config{Alerting: config.Alerting{Webhooks: []config.Webhook{
		{Name: "ops", URL: "https://ops.example.com/hook"}, {Name: "dev", URL: "https://dev.example.com/new", Secret: "s"},
		{Name: "qa", URL: "https://qa.example.com/hook"}}}}
	u, err := set.prepare(next, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if u.built["ops"].ch.Notifier != set.built["ops"].ch.Notifier {
		t.Error("unchanged webhook rebuilt")
	}
	if u.built["dev"].ch.Notifier == set.built["dev"].ch.Notifier {
		t.Error("webhook with a new URL and secret kept")
	}
	var fresh []string
	for _, ch := range u.fresh {
		fresh = append(fresh, ch.Notifier.Name())
	}
	if slices.Sort(fresh); !slices.Equal(fresh, []string{"dev", "qa"}) || len(u.built) != 3 {
		t.Errorf("fresh = %v, built %d; want [dev qa] of 3", fresh, len(u.built))
	}
	// None left: the log stands in, built afresh.
	u, err = set.prepare(&config.Config{}, zap.NewNop())
	if err != nil || len(u.built) != 1 || !u.built["log"].ch.All {
		t.Errorf("no channels: %+v, %v", u.built, err)
	}
}
