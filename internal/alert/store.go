package alert

import (
	"context"
	"time"
)

// Store is what the engine needs from durable storage; internal/store
// satisfies it through a field-for-field adapter in cmd/pollerd.
type Store interface {
	// Commit writes a change in one transaction: a transition's target
	// state, its incident and its outbox rows land together or not at all.
	Commit(ctx context.Context, c Change) error
	// Load returns what the engine needs at start.
	Load(ctx context.Context) (Snapshot, error)
	// UpdateDelivery records a delivery attempt's outcome (status,
	// attempts, next try, last error, delivered at) on the row identified
	// by (Key, Channel), which is unique; ID is not needed.
	UpdateDelivery(ctx context.Context, d Delivery) error
}

// TargetState is a target's persisted state, written with its transition.
type TargetState struct {
	Name  string
	State string // UNKNOWN, UP, DOWN
	Since time.Time
}

// Incident is one outage of a target, or one burst of reports for a service.
type Incident struct {
	ID         int64
	Kind       string // "target" or "service"
	Subject    string // the target's or service's name
	OpenedAt   time.Time
	ClosedAt   time.Time // zero while open
	Cause      string    // the probe's reason, or the report's summary
	Reports    int       // client reports folded into it
	MessageRef string    // the channel's reference of the first message, when it gave one
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one message for one channel: an outbox row.
type Delivery struct {
	ID          int64 // assigned by the store; informational
	Key         string
	Channel     string
	IncidentID  int64
	Payload     []byte // the Message, JSON
	Status      string
	Attempts    int
	NextAt      time.Time
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// Change is what one Commit writes. Incidents are upserted by ID; deliveries
// are inserted, and a delivery whose (Key, Channel) exists is left alone.
type Change struct {
	Targets    []TargetState
	Incidents  []Incident
	Deliveries []Delivery
}

// Snapshot is the engine's durable state at start.
type Snapshot struct {
	Targets       []TargetState
	OpenIncidents []Incident
	Pending       []Delivery // status pending, oldest first, with their IDs
	Failed        int        // deliveries marked failed
	MaxIncidentID int64
}
