// Package incident holds the records that the alert pipeline writes and the
// store keeps: a target's state, an incident, an outbox delivery, the change
// written in one transaction and the snapshot read back at start. Types only,
// one copy: alert declares the store interface over them and *store.DB
// satisfies it directly.
package incident

import (
	"errors"
	"time"
)

// ErrNotFound means an update named a row that does not exist. Retrying such
// a write cannot help.
var ErrNotFound = errors.New("not found")

// Incident kinds.
const (
	KindTarget  = "target"  // an outage of a target
	KindService = "service" // a burst of client reports for a service
)

// TargetState is a target's persisted state, written with its transition.
type TargetState struct {
	Name  string
	State string // UNKNOWN, UP, DOWN
	Since time.Time
}

// Incident is one outage of a target, or one burst of reports for a service.
type Incident struct {
	ID         int64
	Kind       string // KindTarget or KindService
	Subject    string // the target's or service's name
	OpenedAt   time.Time
	ClosedAt   time.Time // zero while open
	Cause      string    // the probe's reason, or the report's summary
	Reports    int       // client reports folded into it
	MessageRef string    // the channel's reference of the first message, when it gave one
}

// Open reports whether the incident is still open.
func (i Incident) Open() bool { return i.ClosedAt.IsZero() }

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
	Payload     []byte // the message, JSON
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
	Certs      []CertNotice // upserted by target
}

// Empty reports whether the change writes nothing.
func (c Change) Empty() bool {
	return len(c.Targets) == 0 && len(c.Incidents) == 0 && len(c.Deliveries) == 0 && len(c.Certs) == 0
}

// Snapshot is the alert pipeline's durable state at start.
type Snapshot struct {
	Targets       []TargetState
	OpenIncidents []Incident
	Pending       []Delivery // status pending, oldest first, with their IDs
	Failed        int        // deliveries marked failed
	MaxIncidentID int64
}
