package probe

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// decodeDNS builds a DNSSpec from a target's settings: `dns: {resolver,
// type}` and `expect: {addresses}`. Expected addresses are checked against
// the type (an A record's must be IPv4) and stored in the form answers are
// compared in.
func decodeDNS(d Decoder, in map[string]any) any {
	s := DNSSpec{Type: "A"}
	typeOK := true
	if m := d.Fields("dns", in["dns"], "resolver", "type"); m != nil {
		if r, set := d.String("dns.resolver", m["resolver"]); set {
			if addr, ok := resolverAddr(r); ok {
				s.Resolver = addr
			} else {
				d.Problem("dns.resolver", "%q is not an IP address with an optional port (like 1.1.1.1:53)", truncate(r))
			}
		}
		if t, set := d.String("dns.type", m["type"]); set {
			s.Type = strings.ToUpper(t)
			if !slices.Contains(dnsTypes, s.Type) {
				d.Problem("dns.type", "%q is not a record type (%s)", truncate(t), strings.Join(dnsTypes, ", "))
				s.Type, typeOK = "A", false // addresses are then not checked against it
			}
		}
	}
	in2 := d.Fields("expect", in["expect"], "addresses")
	if in2 == nil {
		return s
	}
	addrs, ok := in2["addresses"].([]any)
	if !ok && in2["addresses"] != nil {
		addrs = []any{in2["addresses"]} // addresses: 203.0.113.7
	}
	for i, a := range addrs {
		key := fmt.Sprintf("expect.addresses[%d]", i)
		v, set := d.String(key, a)
		if !set || !typeOK {
			continue
		}
		if msg := checkExpectedAnswer(s.Type, v); msg != "" {
			d.Problem(key, "%q %s", truncate(v), msg)
			continue
		}
		s.Expect.Addresses = append(s.Expect.Addresses, normalizeAnswer(s.Type, v))
	}
	return s
}

// resolverAddr reads a resolver as IP or IP:port (port 53 when none).
// Names are refused: resolving the resolver would need a resolver.
func resolverAddr(s string) (string, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), ap.Port() != 0
	}
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return net.JoinHostPort(ip.String(), "53"), true
	}
	return "", false
}

// checkExpectedAnswer says what is wrong with an expected answer of type
// typ, or "".
func checkExpectedAnswer(typ, v string) string {
	switch typ {
	case "A":
		if ip, err := netip.ParseAddr(v); err != nil || !ip.Is4() {
			return "is not an IPv4 address"
		}
	case "AAAA":
		if ip, err := netip.ParseAddr(v); err != nil || !ip.Is6() {
			return "is not an IPv6 address"
		}
	case "CNAME", "MX", "NS":
		if !isHostName(strings.TrimSuffix(v, ".")) {
			return "is not a host name"
		}
	}
	return ""
}

// isHostName reports whether s is a DNS name: dot-separated labels of 1–63
// letters, digits, '-' or '_', 253 characters at most.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || strings.IndexFunc(label, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return false
		}
	}
	return true
}
