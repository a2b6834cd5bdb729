package web

import (
	"net/http"

	"go.uber.org/zap"
)

// jsonFallback serves the mux, except that the mux's own plain-text 404 and
// 405 become JSON errors (keeping the 405's Allow header), so every error a
// client sees has the same shape.
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No route: let the mux decide 404 or 405, capture its answer.
		c := &capture{header: http.Header{}}
		h.ServeHTTP(c, r)
		if allow := c.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		code := c.code
		if code == 0 || code < 400 {
			code = http.StatusNotFound
		}
		writeError(w, code, http.StatusText(code))
	})
}

// capture records the status and headers of a handler and discards its body.
type capture struct {
	header http.Header
	code   int
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }
func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

// recoverPanics turns a handler panic into a logged 500 (or an aborted
// connection when the response had begun), so one bad request is answered
// and logged in our format instead of net/http's. http.ErrAbortHandler is re-raised: it is the
// documented way for a handler to abort a response on purpose.
func recoverPanics(log *zap.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The path only: the query may carry a token.
			log.Error("handler panic", zap.Any("panic", v),
				zap.String("method", r.Method), zap.String("path", r.URL.Path),
				zap.Stack("stack"))
			if tw.wrote {
				// Half a response is out: abort the connection so the
				// client sees an error, not a truncated success.
				panic(http.ErrAbortHandler)
			}
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter notes whether the response has begun, so the panic handler
// does not append a second response to a half-written one.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flush, deadlines) through this wrapper.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
