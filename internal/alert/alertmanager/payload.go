package alertmanager

import (
	"encoding/json"
	"time"
)

// AlertName is the alertname label of every alert pollerd posts.
const AlertName = "PollerdTargetDown"

// postableAlert is one element of Alertmanager's POST /api/v2/alerts body
// (its PostableAlert; the fingerprint is the label set alone).
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// firing is what the channel remembers of a target it reported DOWN: enough
// to post the same alert again.
type firing struct {
	target, group string
	summary       string
	since         time.Time
}

// alert is the wire form of f, ending at endsAt (ahead while firing, the
// recovery time when resolved).
func (n *Notifier) alert(f firing, summary string, endsAt time.Time) postableAlert {
	labels := map[string]string{"alertname": AlertName, "target": f.target}
	if f.group != "" {
		labels["group"] = f.group
	}
	return postableAlert{
		Labels:       labels,
		Annotations:  map[string]string{"summary": summary, "reporter": n.reporter},
		StartsAt:     f.since.UTC(),
		EndsAt:       endsAt.UTC(),
		GeneratorURL: n.generatorURL,
	}
}

func encode(alerts []postableAlert) ([]byte, error) { return json.Marshal(alerts) }
