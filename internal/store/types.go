package store

import "time"

// The types below mirror internal/alert's store types field for field, in
// the same order and with the same types, so cmd/pollerd converts between
// them with plain struct conversions (store.Incident(inc)). Change one side
// only together with the other.

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
	ID          int64 // assigned by the store
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

// ProbeRecord is one probe's outcome plus the target's state and
// consecutive counters after it, as the monitor hands it to Record.
type ProbeRecord struct {
	Target    string
	At        time.Time
	OK        bool
	Latency   time.Duration
	State     string
	Since     time.Time
	Failures  int // consecutive failures after this probe
	Successes int // consecutive successes after this probe
}

// TargetRecord is a target's persisted state and counters: what the monitor
// restores at start.
type TargetRecord struct {
	Name      string
	State     string
	Since     time.Time
	Failures  int
	Successes int
	UpdatedAt time.Time // when the counters were last written
}

// msOf stores a time as unix milliseconds; the zero time is 0.
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// nullMsOf is msOf for nullable columns: the zero time is NULL.
func nullMsOf(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// timeOf reverses msOf and nullMsOf: 0 and NULL are the zero time.
func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
