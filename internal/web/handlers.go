package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// statusTimeout bounds one StatusSource call, below the default WriteTimeout
// so a slow store still gets a JSON 500 rather than a cut connection.
const statusTimeout = 5 * time.Second

type handlers struct {
	status StatusSource
	ready  func() error
	log    *zap.Logger
}

// healthz answers while the process serves; it checks nothing else.
func (h *handlers) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

// readyz reports whether pollerd can do its job (config loaded, store
// writable, scheduler running, no channel failed permanently).
func (h *handlers) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := h.ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{
			"status": "not ready",
			"reason": SafeText(err.Error()),
		})
		return
	}
	writeText(w, http.StatusOK, "ready")
}

// statusDoc serves the status document, sanitized here whatever the source
// put in it.
func (h *handlers) statusDoc(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	st, err := h.status.Status(ctx)
	if err != nil {
		h.log.Warn("status unavailable", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "status unavailable")
		return
	}
	writeJSON(w, http.StatusOK, sanitize(st))
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// writeError writes {"error": msg}, the one error shape of every route.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		body = []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
