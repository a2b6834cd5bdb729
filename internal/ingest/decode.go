package ingest

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"
)

// payload is the body clients already send. Pointers tell a missing field
// from an empty one; unknown fields are ignored.
type payload struct {
	ServiceName *string  `json:"serviceName"`
	Types       []string `json:"types"`
	// Description stays raw (pointing into the body) until decodeBody
	// unescapes it: see unquote.
	Description json.RawMessage `json:"description"`
}

// request is a payload that passed validation.
type request struct {
	service     string
	channels    []string // nil: every configured channel
	description string
}

// mediaTypeOK accepts application/json and text/plain (what
// navigator.sendBeacon sends for a string), whatever their parameters.
func mediaTypeOK(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || strings.EqualFold(mt, "text/plain")
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the whole body, at most max bytes, into buf. The limit is
// checked against Content-Length first so an honest oversized request is
// refused before a byte is read; http.MaxBytesReader catches the rest
// (chunked bodies, lying lengths) and makes the server close the connection.
func readBody(w http.ResponseWriter, r *http.Request, max int64, buf *bytes.Buffer) *apiError {
	if r.ContentLength > max {
		return errTooLarge
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errRead
	}
	return nil
}

// decodeBody parses body as exactly one JSON object and validates it.
// channels is the set of notifier names a `types` entry may name.
//
// segmentio/encoding/json is a drop-in of encoding/json (same strictness,
// same errors, differential-fuzzed against it) that parses in one pass where
// encoding/json scans the body and then decodes it: the JSON was 33 % of
// the daemon's CPU under a flood of reports (README, Performance).
func decodeBody(body []byte, channels map[string]bool) (request, *apiError) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return request{}, errNotObject
	}
	var p payload
	rest, err := json.Parse(trimmed, &p, json.DontCopyRawMessage)
	if err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return request{}, errNotObject
		}
		switch f := te.Field; {
		case strings.HasPrefix(f, "serviceName"):
			return request{}, errServiceName
		case strings.HasPrefix(f, "types"):
			return request{}, errTypes
		case strings.HasPrefix(f, "description"):
			return request{}, errDescription
		default:
			return request{}, errNotObject
		}
	}
	if len(rest) != 0 {
		return request{}, errTrailing
	}
	return validatePayload(p, channels)
}

// validatePayload checks a decoded payload: a service name, and channels
// among those configured (duplicates dropped).
func validatePayload(p payload, channels map[string]bool) (request, *apiError) {
	if p.ServiceName == nil || *p.ServiceName == "" {
		return request{}, errServiceName
	}
	req := request{service: *p.ServiceName}
	switch d := p.Description; {
	case len(d) == 0 || string(d) == "null":
	case d[0] != '"':
		return request{}, errDescription
	default:
		req.description = unquote(d)
	}
	for _, t := range p.Types {
		if !channels[t] {
			return request{}, errorf(http.StatusBadRequest, "types: unknown channel %s", quoteInput(t))
		}
		if !slices.Contains(req.channels, t) {
			req.channels = append(req.channels, t)
		}
	}
	return req, nil
}

// unquote decodes the JSON string raw, which the parser has validated. A
// description is 2–5 KB of serialised error whose quotes and newlines are
// all escaped; the fast path copies the runs between escapes, where the
// JSON decoders go rune by rune (it was most of the decoding's cost). Rare
// inputs, \u escapes and bytes that are not UTF-8, take the decoder's own
// path, so the result is what encoding/json gives
// (FuzzDecodeBodyMatchesStdlib).
func unquote(raw []byte) string {
	s := raw[1 : len(raw)-1]
	if !utf8.Valid(s) {
		return unquoteSlow(raw)
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			b.Write(s)
			return b.String()
		}
		b.Write(s[:i])
		var c byte
		switch s[i+1] { // a validated string never ends in a lone backslash
		case '"', '\\', '/':
			c = s[i+1]
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		default: // \u
			return unquoteSlow(raw)
		}
		b.WriteByte(c)
		s = s[i+2:]
	}
}

func unquoteSlow(raw []byte) string {
	var s string
	_ = json.Unmarshal(raw, &s) // raw is a valid JSON string
	return s
}
