package probe

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// checkHTTPURL: an http(s) URL needs a host; a port is optional.
func checkHTTPURL(u *url.URL) string {
	if u.Host == "" {
		return "needs a host"
	}
	return checkPort(u.Port(), true)
}

// decodeHTTP builds an HTTPSpec from a target's settings. Unset, a target
// sends GET, follows redirects and verifies TLS.
func decodeHTTP(d Decoder, in map[string]any) any {
	s := HTTPSpec{Method: "GET"}
	if m, set := d.String("method", in["method"]); set {
		s.Method = strings.ToUpper(m)
	}
	if !checkMethod(s.Method) {
		d.Problem("method", "%q is not an HTTP method", s.Method)
	}
	s.Headers = decodeHeaders(d, in["headers"])
	s.Body, _ = d.String("body", in["body"])
	s.FollowRedirects = d.Bool("follow_redirects", in["follow_redirects"], true)
	s.TLSSkipVerify = d.Bool("tls_skip_verify", in["tls_skip_verify"], false)
	s.CertWarn = decodeCertWarn(d, in["cert_warn"])
	s.Expect = decodeExpect(d, in["expect"])
	if reflect.DeepEqual(s, HTTPSpec{Method: "GET", FollowRedirects: true}) {
		return defaultHTTPSpec
	}
	return s
}

// defaultHTTPSpec is the spec of a target that sets nothing, boxed once and
// shared: at 10,000 such targets, one boxed copy each was 1.9 MB of heap,
// 10 % of the daemon's live heap. Nothing writes to a decoded spec.
var defaultHTTPSpec any = HTTPSpec{Method: "GET", FollowRedirects: true}

// decodeHeaders reads `headers: {name: value}`. Values are never quoted in a
// problem: they may be tokens.
func decodeHeaders(d Decoder, v any) http.Header {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.Problem("headers", "must be a mapping")
		return nil
	}
	var h http.Header
	for _, name := range slices.Sorted(maps.Keys(m)) {
		key := "headers." + name
		if !checkHeaderName(name) {
			d.Problem(key, "not a header name")
			continue
		}
		val, _ := d.String(key, m[name])
		if strings.ContainsAny(val, "\r\n") {
			d.Problem(key, "must be one line")
			continue
		}
		if h == nil {
			h = make(http.Header, len(m))
		}
		h.Set(name, val) // canonicalises the name, which arrives lower-cased
	}
	return h
}

func decodeExpect(d Decoder, v any) Expect {
	var e Expect
	in := d.Fields("expect", v, "status", "body_contains", "body_regex", "json", "max_latency", "cert_min_validity")
	if in == nil {
		return e
	}
	statuses, ok := in["status"].([]any)
	if !ok && in["status"] != nil {
		statuses = []any{in["status"]} // status: 200
	}
	for i, s := range statuses {
		key := fmt.Sprintf("expect.status[%d]", i)
		if str, ok := s.(string); ok {
			s, _ = d.String(key, str)
		}
		r, ok := statusOf(s)
		if !ok {
			d.Problem(key, "%v is not a status code or class (100-599, or 1xx-5xx)", s)
			continue
		}
		e.Status = append(e.Status, r)
	}
	e.BodyContains, _ = d.String("expect.body_contains", in["body_contains"])
	if re, _ := d.String("expect.body_regex", in["body_regex"]); re != "" {
		var err error
		if e.BodyRegex, err = regexp.Compile(re); err != nil {
			d.Problem("expect.body_regex", "bad regex: %v", err)
		}
	}
	if j := in["json"]; j != nil {
		if m, ok := j.(map[string]any); ok {
			e.JSON = decodeJSONExpects(d, "", m, nil)
			sort.Slice(e.JSON, func(i, j int) bool { return e.JSON[i].Path < e.JSON[j].Path })
		} else {
			d.Problem("expect.json", "must be a mapping of dotted path to value")
		}
	}
	e.MaxLatency = d.Duration("expect.max_latency", in["max_latency"])
	e.CertMinValidity = d.Duration("expect.cert_min_validity", in["cert_min_validity"])
	return e
}

// decodeJSONExpects flattens `json: {data: {status: up}}` and
// `json: {data.status: up}` alike into path → value.
func decodeJSONExpects(d Decoder, prefix string, m map[string]any, out []JSONExpect) []JSONExpect {
	for _, key := range slices.Sorted(maps.Keys(m)) {
		full := key
		if prefix != "" {
			full = prefix + "." + key
		}
		switch v := m[key].(type) {
		case map[string]any:
			out = decodeJSONExpects(d, full, v, out)
		case string:
			s, _ := d.String("expect.json."+full, v) // "" is a value to expect too
			out = append(out, JSONExpect{Path: full, Value: s})
		case int, int64, uint64, float64, bool:
			out = append(out, JSONExpect{Path: full, Value: fmt.Sprint(v)})
		default:
			d.Problem("expect.json."+full, "must be a string, number or boolean")
		}
	}
	return out
}

// statusOf reads one expected status as the config writes it: a code (200,
// "404") or a class ("2xx", any case), through ParseStatus.
func statusOf(v any) (StatusRange, bool) {
	switch x := v.(type) {
	case int:
		r, err := ParseStatus(strconv.Itoa(x))
		return r, err == nil
	case string:
		r, err := ParseStatus(x)
		return r, err == nil
	}
	return StatusRange{}, false
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

// checkMethod reports whether m is an HTTP method token.
func checkMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(r rune) bool { return !('A' <= r && r <= 'Z') }) < 0
}

// checkHeaderName reports whether name is an HTTP header field name.
func checkHeaderName(name string) bool {
	return name != "" && strings.IndexFunc(name, func(r rune) bool {
		return r > '~' || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}
