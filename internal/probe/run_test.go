package probe

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"
)

func TestRun(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })

	tests := []struct {
		name       string
		url        string
		want       string
		wantStatus int
	}{
		{name: "http dispatches to HTTP", url: srv.URL, want: "status 503, want 2xx", wantStatus: 503},
		{name: "tcp dispatches to TCP", url: "tcp://" + l.Addr().String()},
		{name: "unknown scheme", url: "ftp://user:pw@files.example/x?token=s3cret", want: `unsupported scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Run(context.Background(), target(t, tt.url))
			if res.Reason != tt.want || res.OK != (tt.want == "") || res.StatusCode != tt.wantStatus {
				t.Fatalf("got ok=%v %d %q, want %d %q", res.OK, res.StatusCode, res.Reason, tt.wantStatus, tt.want)
			}
			if res.At.IsZero() {
				t.Error("At not set")
			}
		})
	}
}

func TestRun_NoURL(t *testing.T) {
	res := Run(context.Background(), Target{})
	if res.OK || res.Reason != "no url" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}

func TestRun_CanceledParent(t *testing.T) {
	// Shutdown cancels the parent: the reason says so, not "timeout".
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	u, _ := url.Parse("http://" + refusedAddr(t))
	res := Run(ctx, Target{URL: u})
	if res.OK || res.Reason != "canceled" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}

func TestTimeoutOf(t *testing.T) {
	if got := timeoutOf(Target{}); got != DefaultTimeout {
		t.Errorf("zero timeout = %v, want %v", got, DefaultTimeout)
	}
	if got := timeoutOf(Target{Timeout: 3}); got != 3 {
		t.Errorf("got %v, want 3ns", got)
	}
}
