package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

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
	next.StatusPage.Title = "Home"
	next.Targets = []config.Target{{Name: "api"}} // applied live: not listed
	if got, want := restartFields(old, &next), []string{"listen", "status_page"}; !slices.Equal(got, want) {
		t.Errorf("restartFields = %v, want %v", got, want)
	}
}
