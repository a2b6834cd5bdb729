package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEachMember(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // "key=raw;" for each member, or "error"
	}{
		{"empty object", ` {} `, ""},
		{"members", `{"a":1,"b":"x","c":{"d":[1,{"e":"}"}]},"f":null}`, `a=1;b="x";c={"d":[1,{"e":"}"}]};f=null;`},
		{"escaped key", `{"mess\u0061ge":"m"}`, `message="m";`},
		{"escaped quote in value", `{"a":"x\"}y","b":2}`, `a="x\"}y";b=2;`},
		{"white space", "{\n \"a\" :\t[ ] ,\"b\":true\r\n}", `a=[ ];b=true;`},
		{"trailing data", `{"a":1} x`, "error"},
		{"two objects", `{}{}`, "error"},
		{"unterminated", `{"a":"x`, "error"},
		{"unclosed", `{"a":{"b":1}`, "error"},
		{"missing colon", `{"a" 1}`, "error"},
		{"missing value", `{"a":}`, "error"},
		{"trailing comma", `{"a":1,}`, "error"},
		{"not an object", `[1]`, "error"},
		{"control character in string", "{\"a\":\"x\ny\"}", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := eachMember(tt.in, func(k, raw string) { b.WriteString(k + "=" + raw + ";") })
			got := b.String()
			if err != nil {
				got = "error"
			}
			if got != tt.want {
				t.Errorf("eachMember(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzEachMember checks the walker against encoding/json: every valid
// object is walked without error, to the same members and raw values.
func FuzzEachMember(f *testing.F) {
	f.Add(`{"message":"m","config":{"url":"/x","headers":{"a":"b"}},"status":502}`)
	f.Add(`{"a":[1,2,{"b":"\"]}"}],"c":-1.5e3,"d":true}`)
	f.Add(`{"k\u00e9y":"v","k\u00e9y":"w"}`)
	f.Fuzz(func(t *testing.T, s string) {
		got := map[string]string{}
		err := eachMember(s, func(k, raw string) { got[k] = raw })
		var want map[string]json.RawMessage
		if !utf8.ValidString(s) || json.Unmarshal([]byte(s), &want) != nil || want == nil {
			return // the walker may be lenient with what encoding/json refuses
		}
		if err != nil {
			t.Fatalf("walker refused a valid object %q: %v", s, err)
		}
		if len(got) != len(want) {
			t.Fatalf("walker found %d members, encoding/json %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("member %q: walker %q, encoding/json %q", k, got[k], v)
			}
		}
	})
}
