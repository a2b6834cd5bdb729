package ingest

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/segmentio/encoding/json"

	"github.com/pollerd/pollerd/internal/alert"
)

// Limits on what a report carries onward. Windows bound the scrubbing work
// on hostile input; the cut lengths bound what reaches an alert.
const (
	maxMessage    = 500
	messageWindow = 2048
	maxOpaque     = 1000
	opaqueWindow  = 4096
	maxCode       = 64
	maxHost       = 255
	maxPath       = 300
)

// details is what a description says about the failed request, scrubbed.
type details struct {
	method, host, path string
	status             int
	code, message      string
	opaque             string
}

// axiosError holds the parts of a serialised axios error that pollerd uses
// (axios 1.x, node and browser). The rest (stack, headers, params, raw, …)
// is skipped unread, so it cannot leak.
type axiosError struct {
	message, name, code    *string
	responseStatus, status string // raw JSON values
	responseStatusInner    string // response.status
	method, url, baseURL   *string
	hasConfig              bool
}

func (ae *axiosError) looksAxios() bool {
	return ae.message != nil || ae.name != nil || ae.code != nil || ae.hasConfig
}

// readAxios walks the description object and keeps the members it knows.
func readAxios(d string) (axiosError, error) {
	var ae axiosError
	str := func(raw string) *string {
		if s, ok := jsonString(raw); ok {
			return &s
		}
		return nil
	}
	err := eachMember(d, func(key, raw string) {
		switch key {
		case "message":
			ae.message = str(raw)
		case "name":
			ae.name = str(raw)
		case "code":
			ae.code = str(raw)
		case "responseStatus":
			ae.responseStatus = raw
		case "status":
			ae.status = raw
		case "response":
			_ = eachMember(raw, func(key, raw string) {
				if key == "status" {
					ae.responseStatusInner = raw
				}
			})
		case "config":
			ae.hasConfig = eachMember(raw, func(key, raw string) {
				switch key {
				case "method":
					ae.method = str(raw)
				case "url":
					ae.url = str(raw)
				case "baseURL":
					ae.baseURL = str(raw)
				}
			}) == nil
		}
	})
	return ae, err
}

// describe interprets a description: an axios error yields the request,
// status, code and message; anything else is kept as opaque text. Every
// string that comes out is scrubbed and cut.
func describe(desc string) details {
	d := strings.TrimSpace(desc)
	switch {
	case d == "":
		return details{}
	case d[0] == '{':
		ae, err := readAxios(d)
		if err != nil {
			break
		}
		if ae.looksAxios() {
			return fromAxios(&ae)
		}
		return details{opaque: opaqueJSON(d)}
	case d[0] == '[':
		return details{opaque: opaqueJSON(d)}
	}
	return details{opaque: scrubWindow(d, opaqueWindow, maxOpaque)}
}

func fromAxios(ae *axiosError) details {
	var d details
	if ae.message != nil {
		d.message = scrubWindow(*ae.message, messageWindow, maxMessage)
	}
	if ae.code != nil {
		d.code = scrubWindow(*ae.code, messageWindow, maxCode)
	}
	d.status = parseStatus(ae.responseStatus)
	if d.status == 0 {
		d.status = parseStatus(ae.status)
	}
	if d.status == 0 {
		d.status = parseStatus(ae.responseStatusInner)
	}
	if ae.method != nil {
		d.method = normalizeMethod(*ae.method)
	}
	if ae.url != nil {
		base := ""
		if ae.baseURL != nil {
			base = *ae.baseURL
		}
		host, path := requestURL(*ae.url, base)
		d.host = alert.Truncate(scrubText(host), maxHost)
		if path != "" {
			d.path = alert.Truncate(scrubText(normalizePath(path)), maxPath)
		}
	}
	return d
}

// opaqueJSON re-encodes a JSON description that is not an axios error with
// secret-named fields redacted, then scrubs the text for the rest.
func opaqueJSON(d string) string {
	var v any
	if err := json.Unmarshal([]byte(d), &v); err != nil {
		return scrubWindow(d, opaqueWindow, maxOpaque)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(scrubJSON(v)); err != nil {
		return ""
	}
	return scrubWindow(strings.TrimSpace(b.String()), opaqueWindow, maxOpaque)
}

// parseStatus accepts an HTTP status as a JSON number or numeric string.
func parseStatus(raw string) int {
	s := strings.Trim(raw, `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}

// normalizeMethod upper-cases a method; anything that is not a short run of
// letters is dropped rather than shown.
func normalizeMethod(m string) string {
	if m == "" || len(m) > 16 {
		return ""
	}
	for i := 0; i < len(m); i++ {
		c := m[i] | 0x20
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	return strings.ToUpper(m)
}

// requestURL returns the host and path a request went to, joining a relative
// url to baseURL the way axios does. Query, fragment and userinfo are
// dropped; an unparseable URL yields nothing rather than a guess.
func requestURL(raw, base string) (host, path string) {
	if !isAbsoluteURL(raw) && base != "" {
		raw = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(raw, "/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", ""
	}
	host, path = strings.ToLower(u.Host), u.Path
	if path == "" && host != "" {
		path = "/"
	}
	return host, path
}

// isAbsoluteURL mirrors axios: "scheme://" or protocol-relative "//".
func isAbsoluteURL(s string) bool {
	if strings.HasPrefix(s, "//") {
		return true
	}
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return false
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		letter := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !(letter || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// statusText is http.StatusText, empty for codes it does not know.
func statusText(code int) string { return http.StatusText(code) }
