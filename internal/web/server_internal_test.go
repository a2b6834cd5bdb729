package web

import (
	"context"
	"testing"
	"time"
)

func TestNew_Timeouts(t *testing.T) {
	base := Options{
		Addr:   "127.0.0.1:0",
		Status: statusOf(func(context.Context) (Status, error) { return Status{}, nil }),
		Ready:  func() error { return nil },
	}
	custom := base
	custom.ReadHeaderTimeout, custom.ReadTimeout = time.Second, 2*time.Second
	custom.WriteTimeout, custom.IdleTimeout, custom.MaxHeaderBytes = 3*time.Second, 4*time.Second, 1024

	tests := []struct {
		name                          string
		o                             Options
		readHeader, read, write, idle time.Duration
		maxHeader                     int
	}{
		{"defaults", base, 5 * time.Second, 10 * time.Second, 10 * time.Second, 60 * time.Second, 16 << 10},
		{"custom", custom, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			got := s.srv
			if got.ReadHeaderTimeout != tt.readHeader || got.ReadTimeout != tt.read ||
				got.WriteTimeout != tt.write || got.IdleTimeout != tt.idle || got.MaxHeaderBytes != tt.maxHeader {
				t.Errorf("timeouts = %v %v %v %v %d, want %v %v %v %v %d",
					got.ReadHeaderTimeout, got.ReadTimeout, got.WriteTimeout, got.IdleTimeout, got.MaxHeaderBytes,
					tt.readHeader, tt.read, tt.write, tt.idle, tt.maxHeader)
			}
		})
	}
}

type statusOf func(context.Context) (Status, error)

func (f statusOf) Status(ctx context.Context) (Status, error) { return f(ctx) }
