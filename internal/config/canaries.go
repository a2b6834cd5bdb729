package config

import (
	"fmt"
	"slices"
)

// Canaries are targets on the wider internet, not the watched server: while
// Quorum of them fail together, pollerd's own network is judged down and no
// target DOWN goes out. A canary never alerts on its own.
type Canaries struct {
	Targets []string // names of configured targets; empty: no canaries
	Quorum  int      // 1..len(Targets); default len(Targets)
}

// Is reports whether the named target is a canary.
func (c Canaries) Is(name string) bool {
	return slices.Contains(c.Targets, name)
}

func (p *parser) canaries(v any, targets []Target) Canaries {
	var raw struct {
		Targets any `mapstructure:"targets"`
		Quorum  any `mapstructure:"quorum"`
	}
	var c Canaries
	if !p.section("canaries", v, &raw) || v == nil {
		return c
	}
	known := make(map[string]bool, len(targets))
	for _, t := range targets {
		known[t.Name] = true
	}
	seen := map[string]int{}
	for i, name := range p.strList("canaries.targets", raw.Targets) {
		path := fmt.Sprintf("canaries.targets[%d]", i)
		switch j, dup := seen[name]; {
		case dup:
			p.add(path, "%q is already canaries.targets[%d]", name, j)
			continue
		case !known[name]:
			p.add(path, "no target named %q", name)
		}
		seen[name] = i
		c.Targets = append(c.Targets, name)
	}
	if len(c.Targets) == 0 {
		p.add("canaries.targets", "must name at least one target (leave canaries out for none)")
		return c
	}
	c.Quorum = len(c.Targets)
	if n, ok := p.integer("canaries.quorum", raw.Quorum); ok {
		if n < 1 || n > len(c.Targets) {
			p.add("canaries.quorum", "must be between 1 and %d (the number of canaries)", len(c.Targets))
		}
		c.Quorum = n
	}
	return c
}
