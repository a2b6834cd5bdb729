package alerttest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/pollerd/pollerd/internal/incident"
)

// Store is an in-memory alert store with the semantics internal/store
// promises: incidents upserted by ID, a delivery whose key+channel exists
// left alone, an update of a missing delivery incident.ErrNotFound. SetFail
// makes every write fail, as a full disk would.
type Store struct {
	mu         sync.Mutex
	fail       error
	targets    map[string]incident.TargetState
	incidents  map[int64]incident.Incident
	deliveries []incident.Delivery
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{targets: map[string]incident.TargetState{}, incidents: map[int64]incident.Incident{}}
}

// SetFail makes every later write return err; nil makes them succeed again.
func (s *Store) SetFail(err error) { s.mu.Lock(); s.fail = err; s.mu.Unlock() }

// Commit writes c, or fails as SetFail said.
func (s *Store) Commit(_ context.Context, c incident.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for _, t := range c.Targets {
		s.targets[t.Name] = t
	}
	for _, i := range c.Incidents {
		s.incidents[i.ID] = i
	}
next:
	for _, d := range c.Deliveries {
		for _, have := range s.deliveries {
			if have.Key == d.Key && have.Channel == d.Channel {
				continue next
			}
		}
		d.ID = int64(len(s.deliveries) + 1)
		s.deliveries = append(s.deliveries, d)
	}
	return nil
}

// Load returns the snapshot the pipeline reads at start.
func (s *Store) Load(context.Context) (incident.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap incident.Snapshot
	for _, t := range s.targets {
		snap.Targets = append(snap.Targets, t)
	}
	for id, i := range s.incidents {
		snap.MaxIncidentID = max(snap.MaxIncidentID, id)
		if i.ClosedAt.IsZero() {
			snap.OpenIncidents = append(snap.OpenIncidents, i)
		}
	}
	for _, d := range s.deliveries {
		switch d.Status {
		case incident.DeliveryPending:
			snap.Pending = append(snap.Pending, d)
		case incident.DeliveryFailed:
			snap.Failed++
		}
	}
	sort.Slice(snap.Pending, func(i, j int) bool { return snap.Pending[i].ID < snap.Pending[j].ID })
	return snap, nil
}

// UpdateDelivery records an attempt's outcome on the row (Key, Channel).
func (s *Store) UpdateDelivery(_ context.Context, d incident.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for i, have := range s.deliveries {
		if have.Key == d.Key && have.Channel == d.Channel {
			d.ID = have.ID
			s.deliveries[i] = d
			return nil
		}
	}
	return fmt.Errorf("update delivery %s/%s: %w", d.Key, d.Channel, incident.ErrNotFound)
}

// StatusOf is the status of the first delivery with key, or "".
func (s *Store) StatusOf(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deliveries {
		if d.Key == key {
			return d.Status
		}
	}
	return ""
}

// Incident returns the incident with id as last written.
func (s *Store) Incident(id int64) (incident.Incident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.incidents[id]
	return i, ok
}

// Deliveries returns every outbox row as last written, in insert order.
func (s *Store) Deliveries() []incident.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.Delivery(nil), s.deliveries...)
}
