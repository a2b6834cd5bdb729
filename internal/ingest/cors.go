package ingest

import "net/http"

// preflightMaxAge is how long (seconds) a browser may cache an allowed
// preflight; Chromium caps it at 7200.
const preflightMaxAge = "7200"

// allowOrigin marks a response as readable by a page from origin. Vary is
// set on every response (see ServeHTTP), since answers differ by Origin.
func allowOrigin(w http.ResponseWriter, origin string) {
	w.Header().Set("Access-Control-Allow-Origin", origin)
}

// preflight answers a CORS preflight. It carries no body, so the service is
// unknown: an origin that any service lists may send, and the POST itself is
// then checked against its own service. A refused preflight gets no CORS
// headers, so the browser never sends the request.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	if origin == "" || !h.set.Load().anyOrigin[origin] || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		h.refuse(w, errOrigin)
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Allow-Methods", "POST")
	hd.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	hd.Set("Access-Control-Max-Age", preflightMaxAge)
	w.WriteHeader(http.StatusNoContent)
}
