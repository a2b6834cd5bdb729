// Package logsink is the channel used when no Slack channel is configured:
// each message becomes one info log line, so alerts are never silently
// dropped and the binary can be tried without any Slack setup.
package logsink

import (
	"context"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
)

// Sink writes each message as one info line (see DESIGN "### Messages").
type Sink struct{ l *zap.Logger }

var _ alert.Notifier = (*Sink)(nil)

// New returns a sink writing to l; a nil l discards.
func New(l *zap.Logger) *Sink {
	if l == nil {
		l = zap.NewNop()
	}
	return &Sink{l: l}
}

// Name is the channel name shown in logs and the status API.
func (s *Sink) Name() string { return "log" }

// Notify logs m as {"msg":"alert","kind":…,"target"|"service":…,"text":…},
// the text plain as the message carries it. It never fails, so the outbox marks log deliveries done at once.
func (s *Sink) Notify(_ context.Context, m alert.Message) error {
	fields := make([]zap.Field, 0, 3)
	fields = append(fields, zap.String("kind", string(m.Kind)))
	switch {
	case m.Target != "":
		fields = append(fields, zap.String("target", m.Target))
	case m.Service != "":
		fields = append(fields, zap.String("service", m.Service))
	}
	fields = append(fields, zap.String("text", m.Text))
	s.l.Info("alert", fields...)
	return nil
}
