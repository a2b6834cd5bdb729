package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Maintenance is a recurring maintenance window: it opens at each
// activation of Schedule and lasts Duration. While it is open, the DOWN
// (and reminders) of the targets it covers are held; probes, state and
// history go on. It covers Targets and the members of Groups; with
// neither, every target.
type Maintenance struct {
	Name           string        // unique
	Schedule       string        // cron spec, parsed by ScheduleParser; no @every
	ParsedSchedule cron.Schedule `json:"-"`
	Duration       time.Duration // > 0
	Targets        []string
	Groups         []string
}

// API configures the admin API (silences).
type API struct {
	// AdminToken enables the admin API: each call needs
	// Authorization: Bearer <token>. Empty: those routes answer 403.
	AdminToken Secret
}

// GroupNames lists the groups that targets name, in order of first use.
func (c *Config) GroupNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range c.Targets {
		if t.Group != "" && !seen[t.Group] {
			seen[t.Group] = true
			out = append(out, t.Group)
		}
	}
	return out
}

func (p *parser) api(v any) API {
	var raw struct {
		AdminToken any `mapstructure:"admin_token"`
	}
	p.section("api", v, &raw)
	token, _ := p.str("api.admin_token", raw.AdminToken)
	if token != "" && strings.TrimSpace(token) != token {
		p.add("api.admin_token", "must not start or end with spaces")
	}
	return API{AdminToken: Secret(token)}
}

func (p *parser) maintenance(v any, targets []Target) []Maintenance {
	knownTargets := make(map[string]bool, len(targets))
	knownGroups := map[string]bool{}
	for _, t := range targets {
		knownTargets[t.Name] = true
		if t.Group != "" {
			knownGroups[t.Group] = true
		}
	}
	items := p.list("maintenance", v)
	out := make([]Maintenance, 0, len(items))
	seen := map[string]int{}
	for i, item := range items {
		path := fmt.Sprintf("maintenance[%d]", i)
		var raw struct {
			Name     any `mapstructure:"name"`
			Schedule any `mapstructure:"schedule"`
			Duration any `mapstructure:"duration"`
			Targets  any `mapstructure:"targets"`
			Groups   any `mapstructure:"groups"`
		}
		if item == nil {
			p.add(path, "must be a mapping")
			continue
		}
		if !p.section(path, item, &raw) {
			continue
		}
		var m Maintenance
		m.Name, _ = p.str(path+".name", raw.Name)
		switch j, dup := seen[m.Name]; {
		case m.Name == "":
			p.add(path+".name", "required")
		case dup:
			p.add(path+".name", "%q is already maintenance[%d]", m.Name, j)
		default:
			seen[m.Name] = i
		}
		m.Schedule, _ = p.str(path+".schedule", raw.Schedule)
		switch {
		case m.Schedule == "":
			p.add(path+".schedule", "required: a cron expression for when the window starts")
		case strings.HasPrefix(m.Schedule, "@every"):
			p.add(path+".schedule", "@every has no fixed start; use a cron expression (\"0 3 * * 0\")")
		default:
			sched, err := ScheduleParser.Parse(m.Schedule)
			if err != nil {
				p.add(path+".schedule", "bad cron expression: %v", err)
			}
			m.ParsedSchedule = sched
		}
		d, ok := p.duration(path+".duration", raw.Duration)
		switch {
		case !ok && raw.Duration == nil:
			p.add(path+".duration", "required: how long the window lasts")
		case ok && d <= 0:
			p.add(path+".duration", "must be positive")
		}
		m.Duration = d
		m.Targets = p.strList(path+".targets", raw.Targets)
		for j, name := range m.Targets {
			if !knownTargets[name] {
				p.add(fmt.Sprintf("%s.targets[%d]", path, j), "no target named %q", name)
			}
		}
		m.Groups = p.strList(path+".groups", raw.Groups)
		for j, name := range m.Groups {
			if !knownGroups[name] {
				p.add(fmt.Sprintf("%s.groups[%d]", path, j), "no target is in group %q", name)
			}
		}
		out = append(out, m)
	}
	return out
}
