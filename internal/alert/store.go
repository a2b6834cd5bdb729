package alert

import (
	"context"

	"github.com/pollerd/pollerd/internal/incident"
)

// Loader reads the durable state back at start; the engine needs only this.
type Loader interface {
	// Load returns what was written before the last stop.
	Load(ctx context.Context) (incident.Snapshot, error)
}

// Store is what the alert pipeline needs from durable storage (the engine
// loads, the outbox writes); *store.DB satisfies it directly.
type Store interface {
	Loader
	// Commit writes a change in one transaction: a transition's target
	// state, its incident and its outbox rows land together or not at all.
	Commit(ctx context.Context, c incident.Change) error
	// UpdateDelivery records a delivery attempt's outcome (status,
	// attempts, next try, last error, delivered at) on the row identified
	// by (Key, Channel), which is unique; ID is not needed.
	UpdateDelivery(ctx context.Context, d incident.Delivery) error
}
