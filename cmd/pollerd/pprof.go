package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"

	"go.uber.org/zap"
)

// pprofEnv names a loopback address (127.0.0.1:6060) on which `pollerd run`
// serves net/http/pprof's /debug/pprof/ handlers, for profiling the real
// daemon (BenchmarkDaemon10k with POLLERD_BENCH_PROFILE). Unset, the
// default, nothing listens; it is a development hook, not configuration,
// and it refuses any address that is not loopback.
const pprofEnv = "POLLERD_PPROF_ADDR"

// With the hook on, the heap profile samples an allocation every 16 KiB
// rather than every 512 KiB, from before the config is loaded, so a heap
// profile of 10,000 targets tells per-target structures apart. With it off
// nothing can read a heap profile, so none is kept: sampling costs a little
// on every allocation, and the runtime's 1.4 MB hash table of sampled call
// stacks becomes resident page by page as distinct stacks are sampled.
func init() {
	if os.Getenv(pprofEnv) != "" {
		runtime.MemProfileRate = 16 << 10
	} else {
		runtime.MemProfileRate = 0
	}
}

// startPprof starts the pprof listener when pprofEnv is set and returns
// what stops it.
func startPprof(log *zap.Logger) (stop func()) {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return func() {}
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		log.Warn("pprof listener refused: not a loopback host:port", zap.String("env", pprofEnv), zap.String("addr", addr))
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("pprof listener failed", zap.String("env", pprofEnv), zap.Error(err))
		return func() {}
	}
	mux := http.NewServeMux() // not http.DefaultServeMux, which pprof's init fills
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("pprof listening (development hook)", zap.String("env", pprofEnv), zap.Stringer("addr", ln.Addr()))
	return func() { _ = srv.Close() }
}
