// Package web owns pollerd's HTTP server: the listener and its timeouts, the
// routes (/healthz, /readyz, /api/v1/status, the status page at /, and the
// ingest handler it is given), JSON errors for unknown routes and panics,
// and graceful shutdown.
// It imports nothing internal: the status document is assembled here
// (Assembler) from small sources it declares, readiness comes through a
// func, ingest as an http.Handler.
package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults for Options' zero values. ReadHeaderTimeout is what cuts a
// slowloris client; the others bound a slow body, a slow reader and an idle
// keep-alive connection.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
)

// Options configures a Server. Zero timeouts take the defaults above.
type Options struct {
	Addr       string       // "127.0.0.1:8080"; "127.0.0.1:0" picks a free port
	Ingest     http.Handler // mounted at IngestPath for every method when non-nil
	IngestPath string
	Status     StatusSource // required
	// Ready is required: nil error means ready (200 "ready"); otherwise 503
	// with the error as the reason. A missing func would make /readyz lie.
	Ready  func() error
	Logger *zap.Logger // nil: no logs
	// Page serves the status page at GET / (that path only); nil: no page,
	// and / is a JSON 404 like any unknown path.
	Page *PageOptions
	// Metrics is served at GET /metrics in the Prometheus text format
	// (metrics.go); nil: no /metrics, a JSON 404.
	Metrics prometheus.Gatherer
	// Admin is the admin API (silence.go); without a token its routes
	// answer 403.
	Admin AdminOptions

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes                                            int
}

// Server is pollerd's HTTP server. It owns the serve goroutine: Start begins
// it, Shutdown stops it and waits for it.
type Server struct {
	addr string
	srv  *http.Server
	log  *zap.Logger

	mu      sync.Mutex
	ln      net.Listener
	done    chan struct{} // closed when the serve goroutine returns
	started bool
}

// New validates o and builds the server; it does not listen yet.
func New(o Options) (*Server, error) {
	if o.Addr == "" {
		return nil, errors.New("web: empty listen address")
	}
	if o.Status == nil {
		return nil, errors.New("web: nil status source")
	}
	if o.Ready == nil {
		return nil, errors.New("web: nil readiness func")
	}
	if o.ReadHeaderTimeout < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0 || o.IdleTimeout < 0 || o.MaxHeaderBytes < 0 {
		return nil, errors.New("web: negative timeout or header limit")
	}
	log := o.Logger // named by the caller
	if log == nil {
		log = zap.NewNop()
	}

	mux := http.NewServeMux()
	h := &handlers{status: o.Status, ready: o.Ready, log: log}
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	mux.HandleFunc("GET /api/v1/status", h.statusDoc)
	if o.Page != nil {
		mux.Handle("GET /{$}", newPageHandler(o.Page, o.Status, log))
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", metricsHandler(o.Metrics, log))
	}
	if err := registerAdmin(mux, o.Admin, log); err != nil {
		return nil, err
	}
	if o.Ingest != nil {
		if err := mountIngest(mux, o.IngestPath, o.Ingest); err != nil {
			return nil, err
		}
	}

	srv := &http.Server{
		Handler:           recoverPanics(log, jsonFallback(mux)),
		ReadHeaderTimeout: orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(o.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(o.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          zap.NewStdLog(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	return &Server{addr: o.Addr, srv: srv, log: log}, nil
}

// reservedPaths are served by web itself; ingest must not shadow them.
var reservedPaths = []string{"/healthz", "/readyz", "/api/v1/status", "/metrics", "/api/v1/silences"}

// mountIngest registers the ingest handler for every method, so it answers
// OPTIONS (CORS preflight) and its own 405 itself.
func mountIngest(mux *http.ServeMux, path string, h http.Handler) (err error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n{}") {
		return fmt.Errorf("web: ingest path %q: must be an absolute path without spaces or wildcards", path)
	}
	for _, p := range reservedPaths {
		if path == p || path == "/" || strings.HasPrefix(p, path) && strings.HasSuffix(path, "/") {
			return fmt.Errorf("web: ingest path %q: shadows %s", path, p)
		}
	}
	// ServeMux panics on a pattern it rejects; turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("web: ingest path %q: %v", path, r)
		}
	}()
	mux.Handle(path, h)
	return nil
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Start listens on the configured address and serves in a goroutine owned by
// the Server. It logs `listening` with the real address, so port 0 works.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("web: already started")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.addr, err)
	}
	s.ln, s.done, s.started = ln, make(chan struct{}), true
	s.log.Info("listening", zap.String("addr", ln.Addr().String()))
	go s.serve(ln, s.done)
	return nil
}

func (s *Server) serve(ln net.Listener, done chan<- struct{}) {
	defer close(done)
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("serve stopped", zap.Error(err))
	}
}

// Addr is the address the server listens on, nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting connections, lets in-flight requests finish
// (http.Server.Shutdown) and waits for the serve goroutine. When ctx ends
// first it closes the remaining connections and returns ctx's error. It is
// safe to call more than once, and before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Drain deadline passed: cut what is left rather than leak it.
		_ = s.srv.Close()
		err = fmt.Errorf("web: shutdown: %w", err)
	}
	<-done // Serve returns as soon as its listener is closed.
	return err
}
