package alert

import "time"

// Apply puts a reloaded alerting.repeat_interval (0: off) and target→group
// map in force. An outage's next reminder comes at the next whole new
// interval since it opened, numbered past every reminder it already had,
// so no key ("<id>:reminder-n") is used twice: a longer interval can make
// the first gap after the reload longer, never a reminder sent at once.
func (r *Reminders) Apply(interval time.Duration, groups map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if interval != r.o.Interval && interval > 0 {
		now := r.o.Now()
		for _, o := range r.open {
			o.sent = max(o.sent, int(now.Sub(o.inc.OpenedAt)/interval))
		}
	}
	r.o.Interval, r.o.Groups = max(interval, 0), groups
	if !r.autoTick {
		return
	}
	if tick := defaultTick(interval); tick != r.o.Tick {
		r.o.Tick = tick
		select { // the latest wins
		case <-r.retick:
		default:
		}
		r.retick <- tick
	}
}
