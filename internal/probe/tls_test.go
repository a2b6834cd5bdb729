package probe

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTLS(t *testing.T) {
	now := time.Now()
	ok := func(http.ResponseWriter, *http.Request) {}
	valid := newTLSServerWithCert(t, now.Add(-time.Hour), now.Add(72*time.Hour), ok)
	expired := newTLSServerWithCert(t, now.Add(-72*time.Hour), now.Add(-time.Hour), ok)
	early := newTLSServerWithCert(t, now.Add(time.Hour), now.Add(72*time.Hour), ok)
	plain := newServer(t, ok)
	tlsURL := func(u string) string {
		return "tls://" + strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	}
	tests := []struct {
		name      string
		url       string
		spec      TLSSpec
		want      string
		wantAfter time.Time
	}{
		{name: "valid, chain skipped", url: tlsURL(valid.URL), spec: TLSSpec{TLSSkipVerify: true}, wantAfter: now.Add(72 * time.Hour)},
		{name: "self-signed, verified", url: tlsURL(valid.URL),
			want: "tls: x509: certificate signed by unknown authority", wantAfter: now.Add(72 * time.Hour)},
		{name: "expired, chain skipped", url: tlsURL(expired.URL), spec: TLSSpec{TLSSkipVerify: true},
			want: "tls: certificate has expired", wantAfter: now.Add(-time.Hour)},
		{name: "expired, verified", url: tlsURL(expired.URL),
			want: "tls: certificate has expired", wantAfter: now.Add(-time.Hour)},
		{name: "not yet valid, chain skipped", url: tlsURL(early.URL), spec: TLSSpec{TLSSkipVerify: true},
			want: "tls: certificate is not yet valid", wantAfter: now.Add(72 * time.Hour)},
		{name: "validity bound", url: tlsURL(valid.URL), spec: TLSSpec{TLSSkipVerify: true, Expect: TLSExpect{CertMinValidity: 14 * day}},
			want: "certificate expires in 2d, want ≥ 14d", wantAfter: now.Add(72 * time.Hour)},
		{name: "validity bound met", url: tlsURL(valid.URL), spec: TLSSpec{TLSSkipVerify: true, Expect: TLSExpect{CertMinValidity: 48 * time.Hour}},
			wantAfter: now.Add(72 * time.Hour)},
		{name: "plain server", url: tlsURL(plain.URL), spec: TLSSpec{TLSSkipVerify: true}, want: "tls: server did not answer with tls"},
		{name: "refused", url: "tls://" + refusedAddr(t), want: "connect: connection refused"},
		{name: "no port", url: "tls://127.0.0.1", want: "tls: url needs host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, tt.url)
			tg.Spec = tt.spec
			res := Run(context.Background(), tg)
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			// Certificates store seconds; compare at that precision.
			if !res.CertNotAfter.Truncate(time.Second).Equal(tt.wantAfter.Truncate(time.Second)) {
				t.Errorf("CertNotAfter = %v, want %v", res.CertNotAfter, tt.wantAfter)
			}
			if tt.want == "" && (res.Timings.Connect <= 0 || res.Timings.TLS <= 0 || res.Duration <= 0) {
				t.Errorf("times not filled: %+v", res)
			}
		})
	}
}

// TestTLS_Timeout: a server that accepts and never answers the hello.
func TestTLS_Timeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	tg := target(t, "tls://"+l.Addr().String())
	tg.Timeout = 300 * time.Millisecond
	res := TLS(context.Background(), tg)
	if res.OK || res.Reason != "timeout after 300ms" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
	tg.Spec = "x"
	if res := TLS(context.Background(), tg); res.Reason != "tls: spec is string, want TLSSpec" {
		t.Errorf("wrong spec: %q", res.Reason)
	}
}

func TestTLSKind_Decode(t *testing.T) {
	k, _ := KindOf("tls")
	tests := []struct {
		name     string
		in       map[string]any
		want     TLSSpec
		problems []string
	}{
		{name: "defaults", in: map[string]any{}, want: TLSSpec{}},
		{name: "settings", in: map[string]any{
			"tls_skip_verify": true,
			"cert_warn":       []any{"72h", "336h", "168h"},
			"expect":          map[string]any{"cert_min_validity": "72h"},
		}, want: TLSSpec{TLSSkipVerify: true, CertWarn: []time.Duration{336 * time.Hour, 168 * time.Hour, 72 * time.Hour},
			Expect: TLSExpect{CertMinValidity: 72 * time.Hour}}},
		{name: "one threshold", in: map[string]any{"cert_warn": "336h"}, want: TLSSpec{CertWarn: []time.Duration{336 * time.Hour}}},
		{name: "problems", in: map[string]any{
			"cert_warn": []any{"72h", "72h", nil},
			"expect":    map[string]any{"status": 200},
		}, want: TLSSpec{CertWarn: []time.Duration{72 * time.Hour}}, problems: []string{
			"cert_warn[1]: 72h is listed twice",
			"cert_warn[2]: must be a duration like 336h",
			"expect.status: unknown key",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d mapDecoder
			got := k.Decode(&d, tt.in)
			if !reflect.DeepEqual(got, tt.want) || !slices.Equal(d.problems, tt.problems) {
				t.Errorf("got %#v\n%q\nwant %#v\n%q", got, d.problems, tt.want, tt.problems)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{72 * time.Hour: "72h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCertWarnings(t *testing.T) {
	hk, _ := KindOf("https")
	var d mapDecoder
	spec := hk.Decode(&d, map[string]any{"cert_warn": []any{"72h", "336h"}})
	want := []time.Duration{336 * time.Hour, 72 * time.Hour}
	if got := CertWarnings(spec); !slices.Equal(got, want) || d.problems != nil {
		t.Errorf("https: %v %v, want %v", got, d.problems, want)
	}
	if got := CertWarnings(TLSSpec{CertWarn: want}); !slices.Equal(got, want) {
		t.Errorf("tls: %v", got)
	}
	for _, s := range []any{nil, DNSSpec{}, HTTPSpec{}} {
		if got := CertWarnings(s); got != nil {
			t.Errorf("%T: %v, want nil", s, got)
		}
	}
}
