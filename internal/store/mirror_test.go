package store_test

import (
	"testing"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/store"
)

// The store mirrors alert's store types so cmd/pollerd can convert them
// with struct conversions. These compile only while the mirror holds; the
// store package itself imports nothing internal, only this test does.
var (
	_ = alert.TargetState(store.TargetState{})
	_ = alert.Incident(store.Incident{})
	_ = alert.Delivery(store.Delivery{})
	_ = store.TargetState(alert.TargetState{})
	_ = store.Incident(alert.Incident{})
	_ = store.Delivery(alert.Delivery{})
)

func TestMirror_DeliveryStates(t *testing.T) {
	tests := []struct{ name, store, alert string }{
		{"pending", store.DeliveryPending, alert.DeliveryPending},
		{"delivered", store.DeliveryDelivered, alert.DeliveryDelivered},
		{"failed", store.DeliveryFailed, alert.DeliveryFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.store != tt.alert {
				t.Errorf("store %q != alert %q", tt.store, tt.alert)
			}
		})
	}
}
