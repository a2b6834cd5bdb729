package monitor

import (
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// cronLogger routes cron's own logging to zap. cron logs every wake and every
// job start at Info; at 10,000 targets that is thousands of lines a second,
// so they go to debug. Errors stay errors.
type cronLogger struct{ s *zap.SugaredLogger }

var _ cron.Logger = cronLogger{}

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	l.s.Debugw(msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.s.Errorw(msg, append(keysAndValues, "error", err)...)
}
