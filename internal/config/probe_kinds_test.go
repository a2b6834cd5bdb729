package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// TestLoad_DNSTargets: dns targets decode into probe.DNSSpec, defaults and
// normalised expectations included.
func TestLoad_DNSTargets(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "dns.yaml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]probe.DNSSpec{
		"home-dns": {Resolver: "1.1.1.1:53", Type: "A", Expect: probe.DNSExpect{Addresses: []string{"203.0.113.7"}}},
		"mail":     {Type: "MX", Expect: probe.DNSExpect{Addresses: []string{"mail.example.com"}}},
		"system":   {Type: "A"},
	}
	for _, tg := range c.Targets {
		if got := tg.Probe.Spec; !reflect.DeepEqual(got, want[tg.Name]) {
			t.Errorf("%s: spec %#v, want %#v", tg.Name, got, want[tg.Name])
		}
	}
}

// TestLoad_BadProbeKinds pins the exact messages for the dns and tls
// kinds' settings, in order (TestLoad_BadFiles matches them by substring).
func TestLoad_BadProbeKinds(t *testing.T) {
	tests := map[string][]string{
		"bad-dns.yaml": {
			`targets[0].dns.resolver: "dns.google:53" is not an IP address with an optional port (like 1.1.1.1:53)`,
			`targets[0].expect.addresses[1]: "2001:db8::1" is not an IPv4 address`,
			`targets[0].expect.addresses[2]: "203.0.113" is not an IPv4 address`,
			`targets[1].dns.server: unknown key`,
			`targets[1].dns.type: "SRV" is not a record type (A, AAAA, CNAME, MX, NS, TXT)`,
			`targets[2].url: dns takes only a name; set the server as dns.resolver`,
		},
		"bad-tls.yaml": {
			`targets[0].url: tls needs host:port (like tls://home.example.com:993)`,
			`targets[1].method: only for http(s) targets`,
			`targets[1].cert_warn[1]: must be positive`,
			`targets[1].cert_warn[2]: 336h is listed twice`,
			`targets[1].expect.status: unknown key`,
			`targets[1].expect.cert_min_validity: "soon" is not a duration (like 30s or 5m)`,
			`targets[2].cert_warn[0]: must be positive`,
		},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", file), noEnv)
			var got []string
			for _, p := range Problems(err) {
				got = append(got, p.Path+": "+p.Msg)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

// TestLoad_TLSTargets: tls targets decode into probe.TLSSpec, and
// cert_warn reaches https and tls specs alike, longest first.
func TestLoad_TLSTargets(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "tls.yaml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	warn := []time.Duration{336 * time.Hour, 72 * time.Hour}
	want := map[string]probe.TLSSpec{
		"imap":     {CertWarn: warn, Expect: probe.TLSExpect{CertMinValidity: 168 * time.Hour}},
		"internal": {TLSSkipVerify: true},
	}
	for name, w := range want {
		tg, _ := c.Target(name)
		if got := tg.Probe.Spec; !reflect.DeepEqual(got, w) {
			t.Errorf("%s: spec %#v, want %#v", name, got, w)
		}
	}
	api, _ := c.Target("api")
	if got := probe.CertWarnings(api.Probe.Spec); !reflect.DeepEqual(got, warn) {
		t.Errorf("api: CertWarnings = %v, want %v", got, warn)
	}
}
