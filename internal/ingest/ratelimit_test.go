package ingest

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{name: "remote only", remote: "192.0.2.1:5000", want: "192.0.2.1"},
		{name: "ipv6 remote", remote: "[2001:db8::1]:5000", want: "2001:db8::1"},
		{name: "4in6 remote", remote: "[::ffff:192.0.2.1]:5000", want: "192.0.2.1"},
		{name: "untrusted xff ignored", remote: "192.0.2.1:1", xff: []string{"198.51.100.1"}, want: "192.0.2.1"},
		{name: "trusted proxy", remote: "10.1.2.3:1", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "right-most untrusted wins", remote: "10.1.2.3:1", xff: []string{"203.0.113.9, 198.51.100.1, 10.0.0.2"}, want: "198.51.100.1"},
		{name: "several headers", remote: "10.1.2.3:1", xff: []string{"203.0.113.9", "198.51.100.1"}, want: "198.51.100.1"},
		{name: "all trusted", remote: "10.1.2.3:1", xff: []string{"10.0.0.9, 10.0.0.2"}, want: "10.0.0.9"},
		{name: "garbage stops the walk", remote: "10.1.2.3:1", xff: []string{"198.51.100.1, not-an-ip, 10.0.0.2"}, want: "10.0.0.2"},
		{name: "xff with port", remote: "10.1.2.3:1", xff: []string{"198.51.100.1:4444"}, want: "198.51.100.1"},
		{name: "ipv6 proxy", remote: "[fd00::1]:1", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "no xff from proxy", remote: "10.1.2.3:1", want: "10.1.2.3"},
		{name: "bad remote", remote: "@", want: "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, trusted).String(); got != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

// A flood of distinct addresses cannot grow the table past its cap, and
// idle entries go at the next sweep.
func TestLimiter_Bounded(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(1, 1, rate.Inf, 100, start)
	for i := 0; i < 1000; i++ {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		if ok, _ := l.allow(ip, start); !ok {
			t.Fatalf("fresh client %s refused", ip)
		}
	}
	if n := l.size(); n != 100 {
		t.Errorf("table holds %d clients, want the cap 100", n)
	}
	later := start.Add(clientIdle + sweepEvery)
	if ok, _ := l.allow(netip.MustParseAddr("192.0.2.1"), later); !ok {
		t.Fatal("fresh client refused")
	}
	if n := l.size(); n != 1 {
		t.Errorf("after the sweep the table holds %d clients, want 1", n)
	}
}

func TestLimiter_Allow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, 1, rate.Inf, 10, now)
	ip := netip.MustParseAddr("192.0.2.1")
	if ok, _ := l.allow(ip, now); !ok {
		t.Fatal("first refused")
	}
	ok, wait := l.allow(ip, now)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("second = %v, %s; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.allow(ip, now.Add(500*time.Millisecond)); !ok {
		t.Errorf("refused after the bucket refilled")
	}
}
