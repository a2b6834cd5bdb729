package probe

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"
)

func TestDNS(t *testing.T) {
	srv := newDNSServer(t, map[string]dnsReply{
		"home.example.com A":        {values: []string{"203.0.113.8"}},
		"home.example.com AAAA":     {values: []string{"2001:db8::8"}},
		"two.example.com A":         {values: []string{"203.0.113.8", "203.0.113.9"}},
		"example.com MX":            {values: []string{"Mail.Example.com"}},
		"example.com NS":            {values: []string{"ns1.example.net", "ns2.example.net"}},
		"example.com TXT":           {values: []string{"v=spf1 -all"}},
		"www.example.com CNAME":     {values: []string{"home.example.com"}},
		"broken.example.com A":      {rcode: dnsmessage.RCodeServerFailure},
		"slow.example.com A":        {drop: true},
		"big.example.com A":         {truncate: true, values: []string{"203.0.113.10"}},
		"onlyipv6.example.com AAAA": {values: []string{"2001:db8::1"}},
	})
	tests := []struct {
		name, url   string
		spec        DNSSpec
		want        string
		wantAnswers []string
	}{
		{name: "A as expected", url: "dns://home.example.com",
			spec: DNSSpec{Expect: DNSExpect{Addresses: []string{"203.0.113.8"}}}, wantAnswers: []string{"203.0.113.8"}},
		{name: "A, any answer", url: "dns://Home.Example.com.", wantAnswers: []string{"203.0.113.8"}},
		{name: "A changed", url: "dns://home.example.com", spec: DNSSpec{Type: "A", Expect: DNSExpect{Addresses: []string{"203.0.113.7"}}},
			want: "home.example.com A → 203.0.113.8, want 203.0.113.7", wantAnswers: []string{"203.0.113.8"}},
		{name: "A among several", url: "dns://two.example.com", spec: DNSSpec{Expect: DNSExpect{Addresses: []string{"203.0.113.9"}}},
			wantAnswers: []string{"203.0.113.8", "203.0.113.9"}},
		{name: "AAAA", url: "dns://home.example.com", spec: DNSSpec{Type: "AAAA", Expect: DNSExpect{Addresses: []string{"2001:DB8:0::8"}}},
			wantAnswers: []string{"2001:db8::8"}},
		{name: "NXDOMAIN", url: "dns://gone.example.com", want: "NXDOMAIN"},
		{name: "no records of the type", url: "dns://onlyipv6.example.com", want: "no A records"},
		{name: "SERVFAIL", url: "dns://broken.example.com", want: "SERVFAIL"},
		{name: "MX names compared case-insensitively", url: "dns://example.com",
			spec:        DNSSpec{Type: "MX", Expect: DNSExpect{Addresses: []string{"MAIL.example.com."}}},
			wantAnswers: []string{"mail.example.com"}},
		{name: "NS missing one", url: "dns://example.com", spec: DNSSpec{Type: "NS", Expect: DNSExpect{Addresses: []string{"ns3.example.net"}}},
			want: "example.com NS → ns1.example.net, ns2.example.net, want ns3.example.net", wantAnswers: []string{"ns1.example.net", "ns2.example.net"}},
		{name: "TXT", url: "dns://example.com", spec: DNSSpec{Type: "TXT", Expect: DNSExpect{Addresses: []string{"v=spf1 +all"}}},
			want: `example.com TXT → "v=spf1 -all", want "v=spf1 +all"`, wantAnswers: []string{"v=spf1 -all"}},
		{name: "CNAME", url: "dns://www.example.com", spec: DNSSpec{Type: "CNAME", Expect: DNSExpect{Addresses: []string{"home.example.com"}}},
			wantAnswers: []string{"home.example.com"}},
		{name: "truncated answer asked again over TCP", url: "dns://big.example.com", wantAnswers: []string{"203.0.113.10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, tt.url)
			tt.spec.Resolver = srv.Addr
			tg.Spec = tt.spec
			res := Run(context.Background(), tg)
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			if !slices.Equal(res.Answers, tt.wantAnswers) {
				t.Errorf("Answers = %q, want %q", res.Answers, tt.wantAnswers)
			}
			if res.At.IsZero() || res.Duration <= 0 || res.Timings.DNS <= 0 {
				t.Errorf("times not filled: %+v", res)
			}
		})
	}
	if srv.tcp.Load() != 1 {
		t.Errorf("TCP queries = %d, want 1 (the truncated one)", srv.tcp.Load())
	}
}

func TestDNS_Timeout(t *testing.T) {
	srv := newDNSServer(t, map[string]dnsReply{"slow.example.com A": {drop: true}})
	tg := target(t, "dns://slow.example.com")
	tg.Timeout = 1500 * time.Millisecond
	tg.Spec = DNSSpec{Resolver: srv.Addr}
	res := DNS(context.Background(), tg)
	if res.OK || res.Reason != "timeout after 1.5s" {
		t.Errorf("got ok=%v %q, want timeout after 1.5s", res.OK, res.Reason)
	}
	if n := srv.queries.Load(); n != 2 {
		t.Errorf("server saw %d queries, want 2 (asked again after 1s)", n)
	}
}

func TestDNS_Failures(t *testing.T) {
	tg := target(t, "dns://home.example.com")
	tg.Spec = "x"
	if res := DNS(context.Background(), tg); res.OK || res.Reason != "dns: spec is string, want DNSSpec" {
		t.Errorf("wrong spec: %q", res.Reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tg.Spec = DNSSpec{Resolver: "127.0.0.1:53"}
	if res := DNS(ctx, tg); res.OK || res.Reason != "canceled" {
		t.Errorf("canceled: %q", res.Reason)
	}
	tg.Spec = DNSSpec{Resolver: refusedUDPAddr(t)}
	if res := DNS(context.Background(), tg); res.OK || res.Reason != "dns: read: connection refused" {
		t.Errorf("refused: %q", res.Reason)
	}
	if res := DNS(context.Background(), Target{}); res.OK || res.Reason != "dns: url needs a name" {
		t.Errorf("no url: %q", res.Reason)
	}
}

func TestSystemResolver(t *testing.T) {
	dir := t.TempDir()
	old := resolvConf
	t.Cleanup(func() { resolvConf = old })
	for _, tt := range []struct{ conf, want string }{
		{"# comment\nsearch lan\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", "192.0.2.53:53"},
		{"nameserver fe80::1%eth0\n", "[fe80::1%eth0]:53"},
		{"nameserver bogus\n", "127.0.0.1:53"},
		{"", "127.0.0.1:53"},
	} {
		resolvConf = filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(resolvConf, []byte(tt.conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := systemResolver(); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.conf, got, tt.want)
		}
	}
	resolvConf = filepath.Join(dir, "missing")
	if got := systemResolver(); got != "127.0.0.1:53" {
		t.Errorf("no file: got %q", got)
	}
}

// TestCheckDNS pins the reasons a DNS answer yields, without a server.
func TestCheckDNS(t *testing.T) {
	ok := func(records ...string) dnsAnswer { return dnsAnswer{records: records} }
	tests := []struct {
		name, typ string
		ans       dnsAnswer
		want      []string
		reason    string
	}{
		{name: "any answer passes", typ: "A", ans: ok("203.0.113.8")},
		{name: "changed A", typ: "A", ans: ok("203.0.113.8"), want: []string{"203.0.113.7"},
			reason: "home.example.com A → 203.0.113.8, want 203.0.113.7"},
		{name: "one of two missing", typ: "A", ans: ok("203.0.113.8"), want: []string{"203.0.113.8", "203.0.113.9"},
			reason: "home.example.com A → 203.0.113.8, want 203.0.113.8, 203.0.113.9"},
		{name: "AAAA in another spelling", typ: "AAAA", ans: ok("2001:db8::1"), want: []string{"2001:0DB8::0001"}},
		{name: "names without dot, any case", typ: "MX", ans: ok("mail.example.com"), want: []string{"Mail.Example.COM."}},
		{name: "NXDOMAIN", typ: "A", ans: dnsAnswer{rcode: 3}, reason: "NXDOMAIN"},
		{name: "REFUSED", typ: "A", ans: dnsAnswer{rcode: 5}, reason: "REFUSED"},
		{name: "odd rcode", typ: "A", ans: dnsAnswer{rcode: 23}, reason: "rcode 23"},
		{name: "NODATA", typ: "TXT", ans: dnsAnswer{}, reason: "no TXT records"},
		{name: "TXT quoted and cut", typ: "TXT", ans: ok(strings.Repeat("x", 50) + "\n<!channel>"), want: []string{"a"},
			reason: `home.example.com TXT → "` + strings.Repeat("x", 40) + `…", want a`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkDNS("home.example.com", tt.typ, tt.ans, tt.want); got != tt.reason {
				t.Errorf("got %q, want %q", got, tt.reason)
			}
		})
	}
}

func TestDNSKind_Decode(t *testing.T) {
	k, _ := KindOf("dns")
	tests := []struct {
		name     string
		in       map[string]any
		want     DNSSpec
		problems []string
	}{
		{name: "defaults", in: map[string]any{}, want: DNSSpec{Type: "A"}},
		{name: "settings", in: map[string]any{
			"dns":    map[string]any{"resolver": "1.1.1.1", "type": "aaaa"},
			"expect": map[string]any{"addresses": []any{"2001:DB8::1"}},
		}, want: DNSSpec{Resolver: "1.1.1.1:53", Type: "AAAA", Expect: DNSExpect{Addresses: []string{"2001:db8::1"}}}},
		{name: "one address, names normalised", in: map[string]any{
			"dns":    map[string]any{"resolver": "[::1]:5353", "type": "MX"},
			"expect": map[string]any{"addresses": "Mail.Example.com."},
		}, want: DNSSpec{Resolver: "[::1]:5353", Type: "MX", Expect: DNSExpect{Addresses: []string{"mail.example.com"}}}},
		{name: "problems", in: map[string]any{
			"dns":    map[string]any{"resolver": "dns.google:53", "type": "A", "port": 53},
			"expect": map[string]any{"addresses": []any{"203.0.113.7", "2001:db8::1", "203.0.113"}, "status": 200},
		}, want: DNSSpec{Type: "A", Expect: DNSExpect{Addresses: []string{"203.0.113.7"}}}, problems: []string{
			"dns.port: unknown key",
			`dns.resolver: "dns.google:53" is not an IP address with an optional port (like 1.1.1.1:53)`,
			"expect.status: unknown key",
			`expect.addresses[1]: "2001:db8::1" is not an IPv4 address`,
			`expect.addresses[2]: "203.0.113" is not an IPv4 address`,
		}},
		{name: "unknown type", in: map[string]any{
			"dns":    map[string]any{"type": "SRV"},
			"expect": map[string]any{"addresses": []any{"x"}},
		}, want: DNSSpec{Type: "A"}, problems: []string{`dns.type: "SRV" is not a record type (A, AAAA, CNAME, MX, NS, TXT)`}},
		{name: "bad names and port 0", in: map[string]any{
			"dns":    map[string]any{"resolver": "1.1.1.1:0", "type": "cname"},
			"expect": map[string]any{"addresses": []any{"a..b", "ok.example"}},
		}, want: DNSSpec{Type: "CNAME", Expect: DNSExpect{Addresses: []string{"ok.example"}}}, problems: []string{
			`dns.resolver: "1.1.1.1:0" is not an IP address with an optional port (like 1.1.1.1:53)`,
			`expect.addresses[0]: "a..b" is not a host name`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d mapDecoder
			got := k.Decode(&d, tt.in)
			slices.Sort(d.problems[:min(len(d.problems), 2)]) // a map's keys come in any order
			if !reflect.DeepEqual(got, tt.want) || !slices.Equal(d.problems, tt.problems) {
				t.Errorf("got %#v\n%q\nwant %#v\n%q", got, d.problems, tt.want, tt.problems)
			}
		})
	}
}

// FuzzParseAnswer feeds untrusted responses through the answer handling:
// it must not panic, and the reason must stay one short, valid line.
func FuzzParseAnswer(f *testing.F) {
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("example.com."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}
	srv := &dnsServer{zone: map[string]dnsReply{
		"example.com TXT": {values: []string{"v=spf1 -all", "line\r\nInjected: yes", "\xff\xfe"}},
		"example.com A":   {values: []string{"203.0.113.8"}},
	}}
	query, err := packQuery(1, q)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(srv.answer(query, false))
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		ans, err := parseAnswer(msg, q)
		if err != nil {
			return
		}
		for _, typ := range []string{"TXT", "A", "MX"} {
			r := checkDNS("example.com", typ, ans, []string{"expected"})
			if strings.ContainsAny(r, "\r\n") || !utf8.ValidString(r) || len(r) > maxReason+len("…") {
				t.Fatalf("reason %q", r)
			}
		}
	})
}

// refusedUDPAddr returns a loopback UDP address nothing listens on.
func refusedUDPAddr(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	if err := pc.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}
