package logsink

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pollerd/pollerd/internal/alert"
)

func TestSink_Notify(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		m    alert.Message
		want map[string]any
	}{
		{
			name: "down names the target",
			m:    alert.Message{Key: "42:down", Kind: alert.KindDown, Target: "api", At: at, Text: "api is DOWN: connection refused", Title: "t"},
			want: map[string]any{"kind": "DOWN", "target": "api", "text": "api is DOWN: connection refused"},
		},
		{
			name: "recovered names the target",
			m:    alert.Message{Key: "42:recovered", Kind: alert.KindRecovered, Target: "api", Text: "api RECOVERED after 4m12s"},
			want: map[string]any{"kind": "RECOVERED", "target": "api", "text": "api RECOVERED after 4m12s"},
		},
		{
			name: "report names the service",
			m:    alert.Message{Key: "r:1", Kind: alert.KindReport, Service: "checkout", Text: "checkout: POST /pay 502 (3 reports)"},
			want: map[string]any{"kind": "REPORT", "service": "checkout", "text": "checkout: POST /pay 502 (3 reports)"},
		},
		{
			// The log is plain text: nothing is escaped for it (the JSON
			// encoder quotes what it must).
			name: "text is written unescaped",
			m:    alert.Message{Key: "r:2", Kind: alert.KindReport, Service: "shop", Text: "shop: GET /a/<b>&c → 500, 1 report"},
			want: map[string]any{"kind": "REPORT", "service": "shop", "text": "shop: GET /a/<b>&c → 500, 1 report"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			s := New(zap.New(core))
			if err := s.Notify(context.Background(), tt.m); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			entries := logs.AllUntimed()
			if len(entries) != 1 {
				t.Fatalf("got %d log lines, want 1", len(entries))
			}
			e := entries[0]
			if e.Level != zapcore.InfoLevel || e.Message != "alert" {
				t.Errorf("got %s %q, want info \"alert\"", e.Level, e.Message)
			}
			got := e.ContextMap()
			if len(got) != len(tt.want) {
				t.Errorf("fields = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("field %s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestSink_Name(t *testing.T) {
	if got := New(nil).Name(); got != "log" {
		t.Errorf("Name() = %q, want log", got)
	}
	// A nil logger discards instead of panicking.
	if err := New(nil).Notify(context.Background(), alert.Message{Kind: alert.KindDown}); err != nil {
		t.Errorf("Notify: %v", err)
	}
}
