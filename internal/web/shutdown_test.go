package web_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

// blockingStatus is a StatusSource whose calls wait for release, so a test
// holds a request in flight.
type blockingStatus struct {
	entered chan struct{}
	release chan struct{}
}

func newBlockingStatus() *blockingStatus {
	return &blockingStatus{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blockingStatus) Status(context.Context) (web.Status, error) {
	b.entered <- struct{}{}
	<-b.release
	return web.Status{Deliveries: web.Deliveries{Pending: 7}}, nil
}

type result struct {
	code int
	body string
	err  error
}

// getAsync runs a GET in a goroutine that the test waits for through the
// returned channel.
func getAsync(url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := testClient.Get(url)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	return ch
}

func TestServer_ShutdownDrainsInFlight(t *testing.T) {
	src := newBlockingStatus()
	s, base := startServer(t, web.Options{Status: src})

	got := getAsync(base + "/api/v1/status")
	<-src.entered // the request is in the handler

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()

	// New connections are refused once the listener is closed. Shutdown
	// closes it first thing; poll a bounded number of times for that.
	refused := false
	for range 200 {
		c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Error("listener still accepts connections during shutdown")
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	default:
	}

	close(src.release)
	r := <-got
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request = %d %q %v, want 200 with the document", r.code, r.body, r.err)
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown = %v, want nil after the drain", err)
	}
}

func TestServer_ShutdownDeadline(t *testing.T) {
	src := newBlockingStatus()
	defer close(src.release) // let the stuck handler goroutine end with the test
	s, base := startServer(t, web.Options{Status: src})

	got := getAsync(base + "/api/v1/status")
	<-src.entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the drain deadline has already passed
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	// The remaining connection was cut, so the client sees an error rather
	// than hanging until its own timeout.
	if r := <-got; r.err == nil {
		t.Errorf("in-flight request = %d %q, want a cut connection", r.code, r.body)
	}
}

func TestServer_ShutdownTwice(t *testing.T) {
	s, _ := startServer(t, web.Options{})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("first Shutdown = %v", err)
	}
	// The cleanup registered by startServer shuts down a second time and
	// fails the test if that returns an error.
}
