package probe

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// dnsKind probes dns://name URLs; its settings are a DNSSpec, decoded by
// decodeDNS (dns_decode.go).
var dnsKind = Kind{
	Schemes:  []string{"dns"},
	CheckURL: checkDNSURL,
	Keys:     []string{"dns", "expect"},
	Decode:   decodeDNS,
	Probe:    DNS,
}

// DNSSpec is the settings of a dns target. The zero value asks the system's
// resolver for A records and passes on any answer.
type DNSSpec struct {
	// Resolver is the server asked, IP:port; "" is the first nameserver of
	// /etc/resolv.conf (127.0.0.1:53 when there is none).
	Resolver string
	// Type is the record type asked for: A (default), AAAA, CNAME, MX, NS
	// or TXT.
	Type   string
	Expect DNSExpect
}

// DNSExpect holds the assertions over a DNS answer. An answer with no
// record of the type asked for always fails.
type DNSExpect struct {
	// Addresses must all be in the answer (it may hold more): IPs for A
	// and AAAA, host names for CNAME, MX and NS (compared case-insensitively
	// without the trailing dot), whole strings for TXT.
	Addresses []string
}

// dnsTypes are the record types a dns target can ask for, in the order
// messages list them.
var dnsTypes = []string{"A", "AAAA", "CNAME", "MX", "NS", "TXT"}

// checkDNSURL: a dns URL is dns://name and nothing else; the resolver is a
// setting, not part of the URL.
func checkDNSURL(u *url.URL) string {
	if u.Hostname() == "" || u.Opaque != "" {
		return "dns needs a name (like dns://home.example.com)"
	}
	if u.Port() != "" {
		return "dns takes only a name; set the server as dns.resolver"
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return "dns takes only a name (like dns://home.example.com)"
	}
	return ""
}

// DNS probes a dns://name target: one question to the resolver, over UDP
// and over TCP when the answer was truncated. It passes when the answer has
// records of the type asked for and holds every expected address. The
// resolver is asked directly: /etc/hosts and search domains play no part.
func DNS(ctx context.Context, t Target) Result {
	start := time.Now()
	res := Result{At: start}
	if t.URL == nil || t.URL.Hostname() == "" {
		return failed(res, "dns: url needs a name")
	}
	spec, ok := t.Spec.(DNSSpec)
	if !ok && t.Spec != nil {
		return failed(res, fmt.Sprintf("dns: spec is %T, want DNSSpec", t.Spec))
	}
	typ := strings.ToUpper(spec.Type)
	if typ == "" {
		typ = "A"
	}
	server := spec.Resolver
	if server == "" {
		server = systemResolver()
	}
	timeout := timeoutOf(t)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := strings.TrimSuffix(t.URL.Hostname(), ".")
	ans, err := dnsExchange(ctx, server, name, typ)
	res.Duration = time.Since(start)
	res.Timings.DNS = res.Duration
	if err != nil {
		reason := errReason(err, ctx.Err(), timeout)
		if !strings.HasPrefix(reason, "timeout") && reason != "canceled" && !strings.HasPrefix(reason, "dns: ") {
			reason = "dns: " + reason // "dns: read: connection refused": the resolver refused
		}
		return failed(res, reason)
	}
	res.Answers = ans.records
	res.Reason = checkDNS(name, typ, ans, spec.Expect.Addresses)
	res.OK = res.Reason == ""
	return res
}

// checkDNS evaluates an answer to the question (name, typ) and returns the
// reason it fails, or "". It does no I/O.
func checkDNS(name, typ string, ans dnsAnswer, want []string) string {
	if ans.rcode != rcodeSuccess {
		return rcodeName(ans.rcode)
	}
	if len(ans.records) == 0 {
		return "no " + typ + " records"
	}
	var missing bool
	for _, w := range want {
		w = normalizeAnswer(typ, w)
		if !slices.ContainsFunc(ans.records, func(r string) bool { return normalizeAnswer(typ, r) == w }) {
			missing = true
			break
		}
	}
	if !missing {
		return ""
	}
	shown := make([]string, len(ans.records))
	for i, r := range ans.records {
		shown[i] = showAnswer(r)
	}
	wanted := make([]string, len(want))
	for i, w := range want {
		wanted[i] = showAnswer(w)
	}
	return sanitize(fmt.Sprintf("%s %s → %s, want %s", showAnswer(name), typ,
		strings.Join(shown, ", "), strings.Join(wanted, ", ")))
}

// normalizeAnswer puts an answer or an expected value in the form they are
// compared in: IPs as netip prints them, host names lower case without the
// trailing dot, TXT strings as they are.
func normalizeAnswer(typ, s string) string {
	switch typ {
	case "A", "AAAA":
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip.String()
		}
		return s
	case "TXT":
		return s
	default:
		return strings.ToLower(strings.TrimSuffix(s, "."))
	}
}

// showAnswer prints an answer for a reason: as it is when it holds only the
// characters of names and addresses, else quoted and cut, since TXT records
// and even names are whatever the server sent.
func showAnswer(s string) string {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".-_:", r)) {
			return fmt.Sprintf("%q", truncate(s))
		}
	}
	return truncate(s)
}
