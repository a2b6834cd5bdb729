package outbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
)

type nameOnly string

func (n nameOnly) Name() string                              { return string(n) }
func (nameOnly) Notify(context.Context, alert.Message) error { return nil }

// A long outage logs attempts 1–5, then every 10th, and any attempt whose
// error text differs from the previous one.
func TestQueue_RetryLogsRateLimited(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	p := newPersister(newMemStore(), zap.NewNop())
	q := newQueue(Channel{Notifier: nameOnly("slack")}, p, zap.New(core), time.Now, time.Second)
	d := &incident.Delivery{Key: "k"}
	for i := 1; i <= 30; i++ {
		err := errors.New("connection refused")
		if i == 17 {
			err = errors.New("503 Service Unavailable")
		}
		q.finish(d, err)
	}
	var got []int64
	for _, e := range logs.All() {
		got = append(got, e.ContextMap()["attempt"].(int64))
		if e.ContextMap()["error"] == nil || e.ContextMap()["retry_in"] == nil {
			t.Errorf("attempt line without error or wait: %v", e.ContextMap())
		}
	}
	want := []int64{1, 2, 3, 4, 5, 10, 17, 18, 20, 30}
	if len(got) != len(want) {
		t.Fatalf("logged attempts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logged attempts %v, want %v", got, want)
		}
	}
}
