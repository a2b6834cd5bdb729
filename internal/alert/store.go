package alert

import (
	"context"

	"github.com/pollerd/pollerd/internal/incident"
)

// Store is what the engine needs from durable storage; *store.DB satisfies
// it directly.
type Store interface {
	// Commit writes a change in one transaction: a transition's target
	// state, its incident and its outbox rows land together or not at all.
	Commit(ctx context.Context, c incident.Change) error
	// Load returns what the engine needs at start.
	Load(ctx context.Context) (incident.Snapshot, error)
	// UpdateDelivery records a delivery attempt's outcome (status,
	// attempts, next try, last error, delivered at) on the row identified
	// by (Key, Channel), which is unique; ID is not needed.
	UpdateDelivery(ctx context.Context, d incident.Delivery) error
}
