package alerttest

import (
	"bytes"
	"net/url"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// AssertNoSecret fails the test if secret, as is or URL-escaped, appears in
// any haystack (error strings, log output, API responses…). It reports the
// index of the haystack, never the haystack itself, so a failing run does not
// print the secret a second time.
func AssertNoSecret(tb testing.TB, secret string, haystacks ...[]byte) {
	tb.Helper()
	if secret == "" {
		tb.Fatal("alerttest: AssertNoSecret with an empty secret can never fail")
		return
	}
	forms := []string{secret}
	for _, f := range []string{url.PathEscape(secret), url.QueryEscape(secret)} {
		if f != secret {
			forms = append(forms, f)
		}
	}
	for i, h := range haystacks {
		for _, f := range forms {
			if bytes.Contains(h, []byte(f)) {
				tb.Errorf("alerttest: haystack %d of %d leaks the secret", i, len(haystacks))
				break
			}
		}
	}
}

// CaptureLogs returns a debug-level JSON logger and a function returning
// everything it wrote so far, for leak checks over the encoded log lines
// (fields included, exactly as they would reach a log file).
func CaptureLogs(tb testing.TB) (*zap.Logger, func() []byte) {
	tb.Helper()
	buf := &syncBuffer{}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l := zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), zapcore.DebugLevel))
	return l, buf.bytes
}

// syncBuffer is a bytes.Buffer safe for a logger used from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
