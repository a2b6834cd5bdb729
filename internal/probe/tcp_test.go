package probe

import (
	"context"
	"net"
	"testing"
)

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	// No accept loop: the kernel completes the handshake into the backlog,
	// which is all a TCP probe asks.
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "listening", url: "tcp://" + l.Addr().String()},
		{name: "refused", url: "tcp://" + refusedAddr(t), want: "connect: connection refused"},
		{name: "no port", url: "tcp://127.0.0.1", want: "tcp: url needs host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := TCP(context.Background(), target(t, tt.url))
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			if res.At.IsZero() {
				t.Error("At not set")
			}
			if tt.want == "" && (res.Duration <= 0 || res.Timings.Connect <= 0) {
				t.Errorf("times not filled: %+v", res)
			}
		})
	}
}

func TestTCP_Canceled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := TCP(ctx, target(t, "tcp://"+l.Addr().String()))
	if res.OK || res.Reason != "canceled" {
		t.Errorf("got ok=%v %q, want canceled", res.OK, res.Reason)
	}
}
