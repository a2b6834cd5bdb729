package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoad_BadMaintenance(t *testing.T) {
	tests := map[string][]Problem{
		"bad-maintenance.yaml": {
			{"maintenance[0].targets[1]", `no target named "nope"`},
			{"maintenance[0].groups[1]", `no target is in group "cloud"`},
			{"maintenance[1].name", `"sunday-reboot" is already maintenance[0]`},
			{"maintenance[1].schedule", "bad cron expression: end of range (8) above maximum (6): 8"},
			{"maintenance[1].duration", "must be positive"},
			{"maintenance[2].target", "unknown key"},
			{"maintenance[2].schedule", `@every has no fixed start; use a cron expression ("0 3 * * 0")`},
			{"maintenance[3].duration", `"1 hour" is not a duration (like 30s or 5m)`},
		},
		"bad-maintenance-required.yaml": {
			{"maintenance[0].name", "required"},
			{"maintenance[0].schedule", "required: a cron expression for when the window starts"},
			{"maintenance[0].duration", "required: how long the window lasts"},
			{"maintenance[1]", "must be a mapping"},
		},
		"bad-api.yaml": {{"api.admin_tokn", "unknown key"}},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", file), noEnv)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			got := map[Problem]bool{}
			for _, p := range ve.Problems {
				got[p] = true
			}
			for _, w := range want {
				if !got[w] {
					t.Errorf("missing %s: %s", w.Path, w.Msg)
				}
			}
			if len(ve.Problems) != len(want) {
				t.Errorf("got %d problems, want %d:\n%v", len(ve.Problems), len(want), err)
			}
		})
	}
}

func TestParse_Maintenance(t *testing.T) {
	const yaml = `
api: {admin_token: "${ADMIN:-}"}
maintenance:
  - {name: sunday-reboot, schedule: "0 3 * * 0", duration: 30m, targets: [api], groups: [home]}
  - {name: every-20s, schedule: "*/20 * * * * *", duration: 5s}
targets:
  - {name: api, url: "https://example.com/", group: home}
  - {name: db, url: "tcp://127.0.0.1:5432"}
`
	c, err := Parse(strings.NewReader(yaml), t.TempDir(), env(map[string]string{"ADMIN": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.API.AdminToken.Value() != "s3cret" {
		t.Errorf("admin token = %q", c.API.AdminToken.Value())
	}
	if len(c.Maintenance) != 2 {
		t.Fatalf("maintenance = %+v", c.Maintenance)
	}
	m := c.Maintenance[0]
	if m.Name != "sunday-reboot" || m.Duration != 30*time.Minute || !reflect.DeepEqual(m.Targets, []string{"api"}) ||
		!reflect.DeepEqual(m.Groups, []string{"home"}) || m.ParsedSchedule == nil {
		t.Errorf("window 0 = %+v", m)
	}
	from := time.Date(2026, 3, 1, 0, 0, 7, 0, time.UTC)
	if next := c.Maintenance[1].ParsedSchedule.Next(from); !next.Equal(from.Add(13 * time.Second)) {
		t.Errorf("6-field schedule: next after %v = %v", from, next)
	}
	if got := c.GroupNames(); !reflect.DeepEqual(got, []string{"home"}) {
		t.Errorf("groups = %v", got)
	}

	// POLLERD_API_ADMIN_TOKEN overrides; no api section: no token.
	c, err = Parse(strings.NewReader("targets: [{name: api, url: 'https://example.com/'}]\n"), t.TempDir(),
		env(map[string]string{"POLLERD_API_ADMIN_TOKEN": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.API.AdminToken.Value() != "from-env" {
		t.Errorf("override: admin token = %q", c.API.AdminToken.Value())
	}
}
