package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tlsKind probes tls://host:port URLs: a handshake and the certificate,
// for TLS services that are not HTTP (IMAPS, SMTPS, an MQTT broker) or
// when only the certificate matters. Its settings are a TLSSpec.
var tlsKind = Kind{
	Schemes:  []string{"tls"},
	CheckURL: checkTLSURL,
	Keys:     []string{"tls_skip_verify", "cert_warn", "expect"},
	Decode:   decodeTLS,
	Probe:    TLS,
}

// TLSSpec is the settings of a tls target. The zero value verifies the
// chain and the host name and passes on any valid certificate.
type TLSSpec struct {
	// TLSSkipVerify skips the chain and host name; an expired or not yet
	// valid certificate still fails.
	TLSSkipVerify bool
	// CertWarn are the validity thresholds (longest first) under which a
	// certificate notice goes out; see CertWarnings.
	CertWarn []time.Duration
	Expect   TLSExpect
}

// TLSExpect holds the assertions over a TLS handshake.
type TLSExpect struct {
	// CertMinValidity fails a probe whose leaf certificate expires sooner
	// than this after the probe started; 0: no bound.
	CertMinValidity time.Duration
}

// CertWarnings returns the cert_warn thresholds of a target's spec,
// longest first: those of an https or tls target, nil for any other.
func CertWarnings(spec any) []time.Duration {
	switch s := spec.(type) {
	case HTTPSpec:
		return s.CertWarn
	case TLSSpec:
		return s.CertWarn
	}
	return nil
}

// checkTLSURL: a tls URL is host:port and nothing else.
func checkTLSURL(u *url.URL) string {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return "tls needs host:port (like tls://home.example.com:993)"
	}
	if msg := checkPort(port, false); msg != "" {
		return msg
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "tls takes only host:port"
	}
	return ""
}

func decodeTLS(d Decoder, in map[string]any) any {
	var s TLSSpec
	s.TLSSkipVerify = d.Bool("tls_skip_verify", in["tls_skip_verify"], false)
	s.CertWarn = decodeCertWarn(d, in["cert_warn"])
	if e := d.Fields("expect", in["expect"], "cert_min_validity"); e != nil {
		s.Expect.CertMinValidity = d.Duration("expect.cert_min_validity", e["cert_min_validity"])
	}
	return s
}

// decodeCertWarn reads `cert_warn: [336h, 72h]` (or one duration), in any
// order, and returns it longest first.
func decodeCertWarn(d Decoder, v any) []time.Duration {
	if v == nil {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var out []time.Duration
	for i, item := range items {
		key := fmt.Sprintf("cert_warn[%d]", i)
		dur := d.Duration(key, item)
		switch {
		case dur <= 0: // absent or bad: the decoder said why
			if item == nil {
				d.Problem(key, "must be a duration like 336h")
			}
		case slices.Contains(out, dur):
			d.Problem(key, "%s is listed twice", shortDuration(dur))
		default:
			out = append(out, dur)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// shortDuration prints 72h rather than 72h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// TLS probes a tls://host:port target: it connects, shakes hands with the
// host as server name, and checks the leaf certificate's validity. Nothing
// is sent after the handshake; the session is never resumed.
func TLS(ctx context.Context, t Target) Result {
	start := time.Now()
	res := Result{At: start}
	if t.URL == nil || t.URL.Port() == "" {
		return failed(res, "tls: url needs host:port")
	}
	spec, ok := t.Spec.(TLSSpec)
	if !ok && t.Spec != nil {
		return failed(res, fmt.Sprintf("tls: spec is %T, want TLSSpec", t.Spec))
	}
	timeout := timeoutOf(t)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	conn, err := tcpDialer.DialContext(ctx, "tcp", t.URL.Host)
	res.Timings.Connect = time.Since(start)
	if err != nil {
		return failed(res, errReason(err, ctx.Err(), timeout))
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{
		ServerName:         t.URL.Hostname(),   // SNI; for an IP, checked against the IP SANs
		InsecureSkipVerify: spec.TLSSkipVerify, //nolint:gosec // the target opts out explicitly; expiry is still checked
		MinVersion:         tls.VersionTLS12,
	})
	hs := time.Now()
	err = tc.HandshakeContext(ctx)
	res.Timings.TLS = time.Since(hs)
	res.Duration = time.Since(start)
	if err != nil {
		res.CertNotAfter = unverifiedNotAfter(err)
		return failed(res, errReason(err, ctx.Err(), timeout))
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return failed(res, "tls: no certificate")
	}
	leaf := certs[0]
	res.CertNotAfter = leaf.NotAfter
	switch {
	case res.At.Before(leaf.NotBefore): // only reachable with tls_skip_verify
		return failed(res, "tls: certificate is not yet valid")
	case res.At.After(leaf.NotAfter):
		return failed(res, "tls: certificate has expired")
	}
	if want := spec.Expect.CertMinValidity; want > 0 {
		if left := leaf.NotAfter.Sub(res.At); left < want {
			return failed(res, certReason(left, want))
		}
	}
	res.OK = true
	return res
}
