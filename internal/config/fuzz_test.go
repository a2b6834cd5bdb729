package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: whatever the file holds, Parse returns a config or a
// *ValidationError with at least one problem, and never panics.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../../configs/*.yaml")
	for _, path := range append(seeds, examples...) {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("targets: [{name: a, url: '${X:-tcp://127.0.0.1:1}', expect: {json: {a: {b: [1]}}}}]")
	lookup := env(map[string]string{"X": "x", "SLACK_WEBHOOK_URL": "https://hooks.example/x"})
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse(strings.NewReader(src), "/etc/pollerd", lookup)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			return
		}
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) == 0 || cfg != nil {
			t.Fatalf("err = %#v, cfg = %v", err, cfg)
		}
	})
}
