package ingest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// apiError is a refusal: the status it maps to and a message that is safe to
// show the client (never an echo of more than a short, quoted piece of input).
type apiError struct {
	status     int
	msg        string
	retryAfter time.Duration // 429 only
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// Refusals that carry no detail, allocated once.
var (
	errMethod         = &apiError{status: http.StatusMethodNotAllowed, msg: "method not allowed: use POST"}
	errContentType    = &apiError{status: http.StatusUnsupportedMediaType, msg: "content type must be application/json or text/plain"}
	errTooLarge       = &apiError{status: http.StatusRequestEntityTooLarge, msg: "body too large"}
	errRead           = &apiError{status: http.StatusBadRequest, msg: "could not read body"}
	errNotObject      = &apiError{status: http.StatusBadRequest, msg: "body must be one JSON object"}
	errTrailing       = &apiError{status: http.StatusBadRequest, msg: "body has data after the JSON object"}
	errServiceName    = &apiError{status: http.StatusBadRequest, msg: "serviceName must be a non-empty string"}
	errTypes          = &apiError{status: http.StatusBadRequest, msg: "types must be an array of strings"}
	errDescription    = &apiError{status: http.StatusBadRequest, msg: "description must be a string"}
	errUnknownService = &apiError{status: http.StatusNotFound, msg: "unknown service"}
	errOrigin         = &apiError{status: http.StatusForbidden, msg: "origin not allowed"}
	errUnauthorized   = &apiError{status: http.StatusUnauthorized, msg: "missing or invalid bearer token"}
)

// quoteInput renders a piece of client input for an error message: cut to a
// few bytes and Go-quoted, so a huge or binary value is never echoed back.
func quoteInput(s string) string {
	const max = 32
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

var acceptedBody = []byte(`{"status":"accepted"}` + "\n")

// writeError is the one place a refusal becomes a response: its status, a
// JSON {"error": …} body and, for 429, Retry-After in whole seconds (≥ 1).
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	setJSONHeaders(h)
	if e.status == http.StatusTooManyRequests {
		secs := int64(math.Ceil(e.retryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	if e.status == http.StatusMethodNotAllowed {
		h.Set("Allow", "OPTIONS, POST")
	}
	body, err := json.Marshal(struct {
		Error string `json:"error"`
	}{e.msg})
	if err != nil { // cannot happen for a string; keep the status anyway
		body = []byte(`{"error":"internal error"}`)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(append(body, '\n'))
}

func writeAccepted(w http.ResponseWriter) {
	setJSONHeaders(w.Header())
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody)
}

func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
