package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pollerd/pollerd/internal/alert"
)

// The markers this fuzz test plants in secret positions. Scrubbing works by
// field name and value shape, never by these strings.
const (
	secretMarker = "SECRET_PLACEHOLDER_TOKEN"
	queryMarker  = "QUERY_PLACEHOLDER_TOKEN"
)

var fuzzChannels = map[string]bool{"slack": true, "log": true}

// FuzzDecodeScrubFingerprint feeds hostile bodies through decode, describe,
// scrub and fingerprint. Whatever the body:
//   - nothing panics, and the same body gives the same report;
//   - every field is valid UTF-8 and within its length bound;
//   - no field is cut inside a rune by alert.Truncate (that it can never
//     mention or link in Slack whatever it holds is alert/slack's
//     FuzzPayload_NoMention: channels escape for themselves);
//   - secrets planted in secret positions never reach the report. The
//     fuzzer controls everything around them, but not where they sit: the
//     harness strips any marker from the input (the fuzzer could otherwise
//     move one into a message, where it is not a secret) and plants them
//     itself into headers, params, URLs, userinfo and free text.
func FuzzDecodeScrubFingerprint(f *testing.F) {
	for _, name := range []string{"node-502.json", "browser-502.json", "node-econnrefused.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"serviceName":"s","description":"plain text with token=abc and Bearer xyz"}`))
	f.Add([]byte(`{"serviceName":"s","types":["log"],"description":"{\"foo\":{\"password\":\"p\"}}"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkBody(t, body)
		body = bytes.ReplaceAll(body, []byte(secretMarker), []byte("x"))
		body = bytes.ReplaceAll(body, []byte(queryMarker), []byte("x"))
		if planted, ok := plant(body); ok {
			rep, ok := checkBody(t, planted)
			if !ok {
				return
			}
			for i, s := range reportStrings(rep) {
				if strings.Contains(s, secretMarker) || strings.Contains(s, queryMarker) {
					t.Fatalf("field %d leaks a planted secret: %q", i, s)
				}
			}
		}
	})
}

// checkBody runs one body through the pipeline and checks the invariants
// that hold for any input.
func checkBody(t *testing.T, body []byte) (alert.Report, bool) {
	t.Helper()
	req, e := decodeBody(body, fuzzChannels)
	if e != nil {
		if e.status != 400 {
			t.Fatalf("decodeBody refused with %d, want 400", e.status)
		}
		return alert.Report{}, false
	}
	rep := buildReport(req, fixedNow)
	if again := buildReport(req, fixedNow); again.Fingerprint != rep.Fingerprint {
		t.Fatalf("fingerprint not stable: %s, %s", rep.Fingerprint, again.Fingerprint)
	}
	bounds := map[string]int{"Method": 16, "Host": maxHost, "Path": maxPath, "Code": maxCode, "Message": maxMessage, "Opaque": maxOpaque}
	for name, v := range map[string]string{"Method": rep.Method, "Host": rep.Host, "Path": rep.Path, "Code": rep.Code, "Message": rep.Message, "Opaque": rep.Opaque} {
		if len(v) > bounds[name] {
			t.Fatalf("%s is %d bytes, bound %d", name, len(v), bounds[name])
		}
	}
	for i, s := range reportStrings(rep) {
		if !utf8.ValidString(s) {
			t.Fatalf("field %d is not valid UTF-8: %q", i, s)
		}
		if cut := alert.Truncate(s, 200); !utf8.ValidString(cut) {
			t.Fatalf("field %d cut inside a rune: %q", i, cut)
		}
	}
	if rep.Status != 0 && (rep.Status < 100 || rep.Status > 599) {
		t.Fatalf("status %d out of range", rep.Status)
	}
	return rep, true
}

// plant puts the markers into the secret positions of body: every
// headers/params object and every url in a JSON description, or free-text
// secrets in the middle of a text description. It reports false when the
// body has no description to plant into.
func plant(body []byte) ([]byte, bool) {
	var outer map[string]any
	if json.Unmarshal(body, &outer) != nil {
		return nil, false
	}
	desc, ok := outer["description"].(string)
	if !ok {
		return nil, false
	}
	var inner any
	if err := json.Unmarshal([]byte(desc), &inner); err == nil {
		if _, isObj := inner.(map[string]any); isObj {
			plantJSON(inner)
			b, err := json.Marshal(inner)
			if err != nil {
				return nil, false
			}
			desc = string(b)
		} else {
			desc = plantText(desc)
		}
	} else {
		desc = plantText(desc)
	}
	outer["description"] = desc
	b, err := json.Marshal(outer)
	return b, err == nil
}

func plantJSON(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			switch k {
			case "headers":
				if h, ok := val.(map[string]any); ok {
					h["Authorization"] = "Bearer " + secretMarker
					h["Cookie"] = "sid=" + secretMarker
					h["X-Api-Key"] = secretMarker
				}
			case "params":
				if p, ok := val.(map[string]any); ok {
					p["token"] = queryMarker
					p["access_token"] = secretMarker
				}
			case "url":
				if u, ok := val.(string); ok {
					t[k] = u + "?token=" + queryMarker
				}
			case "baseURL":
				if u, ok := val.(string); ok {
					t[k] = "https://user:" + secretMarker + "@" + strings.TrimPrefix(u, "https://")
				}
			case "message":
				if m, ok := val.(string); ok {
					t[k] = insertAt(m, " Authorization: Bearer "+secretMarker+"\n")
				}
			}
			plantJSON(t[k])
		}
		t["client_secret"] = secretMarker
	case []any:
		for _, e := range t {
			plantJSON(e)
		}
	}
}

// plantText inserts free-text secrets in the middle of s, on their own
// lines and words, so the fuzzer shapes what comes before and after.
func plantText(s string) string {
	return insertAt(s, " Authorization: Bearer "+secretMarker+
		"\n https://user:"+secretMarker+"@api.example/p?token="+queryMarker+"&page=2 password="+secretMarker+" ")
}

func insertAt(s, what string) string {
	i := len(s) / 2
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + what + s[i:]
}

// FuzzDecodeBodyMatchesStdlib holds decodeBody (segmentio/encoding/json) to
// what encoding/json makes of the same body: the same bodies accepted, with
// the same service, channels and description (invalid UTF-8 replaced the
// same way, keys matched the same way), and every other body refused with a
// 400. Which 400 may differ where a body is wrong twice (a mistyped field
// and a syntax error): encoding/json reports the syntax error first.
func FuzzDecodeBodyMatchesStdlib(f *testing.F) {
	for _, name := range []string{"node-502.json", "browser-502.json", "node-econnrefused.json"} {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{
		`{"serviceName":"s","types":["log","log"],"description":"d"}`,
		`{"SERVICENAME":"s","Types":null,"description":null}`,
		`{"serviceName":"s","serviceName":"t"}`,
		"{\"serviceName\":\"s\xff\",\"description\":\"\\ud800 \xc3\"}",
		"{\"serviceName\":\"s\",\"description\":\"a\tb\"}",
		`{"serviceName":"s","description":"a\u00e9\n\/\\\"\r\t\b\f\ud83d\ude00b\\"}`,
		`{"serviceName":"s","x":[1,2e5,-0.1,true,null,{"y":"\u00e9"}]} `,
		`{"serviceName":"s","x":01}`,
		`{"serviceName":"s"} {}`,
		`{"serviceName":5}`,
		`{"serviceName":"s","types":"slack"}`,
		`{"serviceName":"s","description":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := decodeBody(body, fuzzChannels)
		want, wantErr := decodeBodyStdlib(body, fuzzChannels)
		switch {
		case gotErr == nil && wantErr == nil:
			if got.service != want.service || got.description != want.description ||
				strings.Join(got.channels, ",") != strings.Join(want.channels, ",") {
				t.Fatalf("decoded %+v, encoding/json %+v", got, want)
			}
		case gotErr == nil:
			t.Fatalf("accepted what encoding/json refuses (%s): %+v", wantErr.msg, got)
		case wantErr == nil:
			t.Fatalf("refused (%s) what encoding/json accepts: %+v", gotErr.msg, want)
		case gotErr.status != wantErr.status:
			t.Fatalf("status %d (%s), encoding/json %d (%s)", gotErr.status, gotErr.msg, wantErr.status, wantErr.msg)
		}
	})
}

// decodeBodyStdlib is decodeBody as it was written on encoding/json, with
// the description decoded as a string: the reference of
// FuzzDecodeBodyMatchesStdlib.
func decodeBodyStdlib(body []byte, channels map[string]bool) (request, *apiError) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return request{}, errNotObject
	}
	var p struct {
		ServiceName *string  `json:"serviceName"`
		Types       []string `json:"types"`
		Description *string  `json:"description"`
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return request{}, errNotObject
		}
		return request{}, errTypes // which field is beside the point here
	}
	if len(bytes.TrimLeft(trimmed[dec.InputOffset():], " \t\r\n")) != 0 {
		return request{}, errTrailing
	}
	if p.ServiceName == nil || *p.ServiceName == "" {
		return request{}, errServiceName
	}
	req := request{service: *p.ServiceName}
	if p.Description != nil {
		req.description = *p.Description
	}
	for _, t := range p.Types {
		if !channels[t] {
			return request{}, errTypes
		}
		if !slices.Contains(req.channels, t) {
			req.channels = append(req.channels, t)
		}
	}
	return req, nil
}
