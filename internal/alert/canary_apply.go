package alert

import (
	"slices"
	"time"

	"go.uber.org/zap"
)

// Apply puts reloaded canaries (canaries.targets, quorum) in force. The new
// canaries' states are the ones the stage saw (every target's DOWN goes
// through it), so a reload that makes the quorum fail goes offline at
// once, and one that lifts it (canaries removed, a larger quorum) goes
// online, re-probing what was held, as when the canaries pass again. No
// canaries turns the stage into a pass-through.
func (c *Canaries) Apply(canaries []string, quorum int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.o.Canaries, c.o.Quorum = slices.Clone(canaries), quorum
	c.down = map[string]time.Time{}
	for _, n := range canaries {
		if since, ok := c.all[n]; ok {
			c.down[n] = since
		}
	}
	c.judge()
}

// lost reports whether the quorum of canaries is DOWN.
func (c *Canaries) lost() bool {
	return len(c.o.Canaries) > 0 && len(c.down) >= c.o.Quorum
}

// judge goes offline or back online as the canaries' states say.
func (c *Canaries) judge() {
	switch lost := c.lost(); {
	case !c.offline && lost:
		c.offline, c.since, c.count = true, c.latestDown(), 0
		c.o.Logger.Warn("canaries failing: connectivity judged lost, target DOWNs held", zap.Int("canaries_down", len(c.down)))
	case c.offline && !lost:
		c.offline = false
		c.o.Logger.Info("canaries passing again: re-probing held targets")
		c.wg.Add(1)
		go c.reconnect(c.since, c.o.Now())
		c.since = c.o.Now()
	}
}
