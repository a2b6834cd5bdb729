package web_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

// TestServer_SlowlorisCut sends a request's headers one line every 50 ms,
// never finishing them. ReadHeaderTimeout is 200 ms: the server must close
// the connection long before the client has sent its 100 lines (5 s). The
// bound is generous on purpose; the figure is logged.
func TestServer_SlowlorisCut(t *testing.T) {
	const readHeaderTimeout = 200 * time.Millisecond
	s, _ := startServer(t, web.Options{ReadHeaderTimeout: readHeaderTimeout})

	// start is taken before the dial, so before the server starts its
	// header clock: elapsed can only be longer than what the server counted.
	start := time.Now()
	conn, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}

	// The reader sees what the server sends before it closes (nothing, or a
	// 408), then EOF. It ends when the connection closes.
	type readResult struct {
		got string
		err error
	}
	closed := make(chan readResult, 1)
	go func() {
		b, err := io.ReadAll(bufio.NewReader(conn))
		closed <- readResult{string(b), err}
	}()

	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: pollerd\r\n"); err != nil {
		t.Fatal(err)
	}
	var res readResult
	cut := false
	for i := 0; i < 100 && !cut; i++ {
		select {
		case res = <-closed:
			cut = true
		case <-time.After(50 * time.Millisecond):
			if _, err := io.WriteString(conn, "X-Slow: 1\r\n"); err != nil {
				res, cut = <-closed, true
			}
		}
	}
	elapsed := time.Since(start)
	if !cut {
		t.Fatalf("connection still open after %v of trickled headers (ReadHeaderTimeout %v)", elapsed, readHeaderTimeout)
	}
	t.Logf("slow client cut after %v (ReadHeaderTimeout %v)", elapsed.Round(time.Millisecond), readHeaderTimeout)
	if strings.Contains(res.got, "200 OK") {
		t.Errorf("server answered a request whose headers never finished: %q", res.got)
	}
	if elapsed < readHeaderTimeout {
		t.Errorf("cut after %v, before ReadHeaderTimeout %v: cut for another reason?", elapsed, readHeaderTimeout)
	}
}
