package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, at a field path such as
// targets[2].url. Msg never holds a secret's value.
type Problem struct {
	Path string // empty for the file as a whole
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// ValidationError lists every problem found in a configuration, section by
// section, so that one run of `pollerd validate` shows them all.
type ValidationError struct{ Problems []Problem }

// Error returns one problem a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problems returns the problems in err when it is a *ValidationError.
func Problems(err error) []Problem {
	var verr *ValidationError
	if errors.As(err, &verr) {
		return verr.Problems
	}
	return nil
}

// checkName reports what is wrong with a target name, or "".
func checkName(name string) string {
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q may only hold a-z, 0-9, '.', '_' and '-'", name)
		}
	}
	return ""
}

// checkPort reports what is wrong with a port number, or "". emptyOK
// allows none, as in a URL with the scheme's default port.
func checkPort(port string, emptyOK bool) string {
	if port == "" && emptyOK {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "port must be 1-65535"
	}
	return ""
}

// checkListen reports what is wrong with a listen address, or "". Port 0
// (any free port) is allowed, for tests.
func checkListen(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (like 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q: port must be a number 0-65535", addr)
	}
	return ""
}

// checkWebhookURL reports what is wrong with a Slack webhook URL, or "",
// never quoting it. Plain http is allowed only to loopback, for tests.
func checkWebhookURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "not a valid URL"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "localhost", "::1":
			return ""
		}
	}
	return "must be an https:// URL"
}

// parseOrigin normalises a browser origin (scheme://host[:port]) to the
// lower case that browsers send, or says what is wrong with it.
func parseOrigin(s string) (string, string) {
	const msg = "must be an origin like https://app.example (scheme://host[:port], no path)"
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" ||
		strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return "", fmt.Sprintf("%q %s", s, msg)
	}
	if checkPort(u.Port(), true) != "" {
		return "", fmt.Sprintf("%q: port must be 1-65535", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), ""
}

// parsePrefix parses a CIDR; a bare address is a one-address prefix.
func parsePrefix(s string) (netip.Prefix, bool) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		return pfx.Masked(), true
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(addr, addr.BitLen()), true
	}
	return netip.Prefix{}, false
}
