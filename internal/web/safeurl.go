package web

import (
	"net/url"
	"regexp"
	"strings"
)

// SafeURL returns raw without userinfo, query or fragment: the parts where
// passwords, tokens and signed parameters live. It never returns any of those
// parts, even for input url.Parse rejects, which is stripped by hand.
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return stripByHand(raw)
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	if u.Opaque != "" {
		// "host:port" parses as scheme "host" with an opaque part, and an
		// opaque part may hold "user:pass@…": strip it by hand as well.
		return stripByHand(u.String())
	}
	return u.String()
}

// stripByHand cuts at the first '?' or '#' and drops everything up to the
// last '@' of the authority.
func stripByHand(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	rest, prefix := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	authority, path := rest, ""
	if i := strings.Index(rest, "/"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	return prefix + authority + path
}

// urlInText matches an absolute URL inside free text, up to the characters
// that usually end one there (whitespace, quotes, angle brackets).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// SafeText applies SafeURL to every absolute URL inside s. Probe reasons and
// errors quote request URLs (`Get "https://u:p@host/?token=x": …`), so
// free text gets the same treatment as the URL field.
func SafeText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, SafeURL)
}
