package probe

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := Result{StatusCode: 200, Duration: 100 * time.Millisecond, At: at}
	with := func(f func(*Result)) Result { r := ok; f(&r); return r }
	const doc = `{"Data": {"status": "up", "count": 3, "ratio": 1.50, "on": true, "gone": null,
		"items": [{"id": 7}, {"id": 9007199254740993}], "obj": {"a": 1}, "EXACT": "upper", "exact": "lower"}}`

	tests := []struct {
		name   string
		expect Expect
		result Result
		body   string
		want   string // "" means pass
	}{
		{name: "default status passes 2xx", result: with(func(r *Result) { r.StatusCode = 204 })},
		{name: "default status fails 502", result: with(func(r *Result) { r.StatusCode = 502 }), want: "status 502, want 2xx"},
		{name: "default status fails 301", result: with(func(r *Result) { r.StatusCode = 301 }), want: "status 301, want 2xx"},
		{name: "one code passes", expect: Expect{Status: []StatusRange{{200, 200}}}, result: ok},
		{name: "one code fails", expect: Expect{Status: []StatusRange{{200, 200}}},
			result: with(func(r *Result) { r.StatusCode = 201 }), want: "status 201, want 200"},
		{name: "code or class passes on class", expect: Expect{Status: []StatusRange{{200, 200}, {300, 399}}},
			result: with(func(r *Result) { r.StatusCode = 302 })},
		{name: "code or class fails", expect: Expect{Status: []StatusRange{{200, 200}, {300, 399}}},
			result: with(func(r *Result) { r.StatusCode = 404 }), want: "status 404, want 200 or 3xx"},
		{name: "three ranges listed", expect: Expect{Status: []StatusRange{{200, 200}, {204, 204}, {300, 399}}},
			result: with(func(r *Result) { r.StatusCode = 500 }), want: "status 500, want 200, 204 or 3xx"},

		{name: "body contains passes", expect: Expect{BodyContains: "ok"}, result: ok, body: "all ok"},
		{name: "body contains fails", expect: Expect{BodyContains: "ok"}, result: ok, body: "bad", want: `body lacks "ok"`},
		{name: "body contains quote truncated", expect: Expect{BodyContains: strings.Repeat("a", 50)}, result: ok,
			body: "b", want: `body lacks "` + strings.Repeat("a", 40) + `…"`},
		{name: "body contains fails on cut body", expect: Expect{BodyContains: "end"},
			result: with(func(r *Result) { r.BodyTruncated = true }), body: "start",
			want: `body lacks "end" (body cut at 1 MiB)`},
		{name: "cut body that passes is fine", expect: Expect{BodyContains: "start"},
			result: with(func(r *Result) { r.BodyTruncated = true }), body: "start"},
		{name: "status checked before body", expect: Expect{BodyContains: "ok"},
			result: with(func(r *Result) { r.StatusCode = 500 }), body: "bad", want: "status 500, want 2xx"},

		{name: "regex passes", expect: Expect{BodyRegex: regexp.MustCompile(`"status":\s*"up"`)}, result: ok, body: `{"status": "up"}`},
		{name: "regex fails", expect: Expect{BodyRegex: regexp.MustCompile(`"status":\s*"up"`)}, result: ok,
			body: `{"status": "down"}`, want: `body does not match /"status":\s*"up"/`},

		{name: "json string passes", expect: Expect{JSON: []JSONExpect{{"data.status", "up"}}}, result: ok, body: doc},
		{name: "json exact key preferred", expect: Expect{JSON: []JSONExpect{{"data.exact", "lower"}}}, result: ok, body: doc},
		{name: "json string fails", expect: Expect{JSON: []JSONExpect{{"data.status", "down"}}}, result: ok, body: doc,
			want: `json data.status = "up", want "down"`},
		{name: "json missing key", expect: Expect{JSON: []JSONExpect{{"data.nope", "x"}}}, result: ok, body: doc,
			want: "json data.nope missing"},
		{name: "json path through scalar", expect: Expect{JSON: []JSONExpect{{"data.status.x", "x"}}}, result: ok, body: doc,
			want: "json data.status.x missing"},
		{name: "json number", expect: Expect{JSON: []JSONExpect{{"data.count", "3"}}}, result: ok, body: doc},
		{name: "json number fails", expect: Expect{JSON: []JSONExpect{{"data.count", "4"}}}, result: ok, body: doc,
			want: `json data.count = "3", want "4"`},
		{name: "json number as written", expect: Expect{JSON: []JSONExpect{{"data.ratio", "1.50"}}}, result: ok, body: doc},
		{name: "json number by value", expect: Expect{JSON: []JSONExpect{{"data.ratio", "1.5"}}}, result: ok, body: doc},
		{name: "json big id exact", expect: Expect{JSON: []JSONExpect{{"data.items.1.id", "9007199254740992"}}}, result: ok, body: doc,
			want: `json data.items.1.id = "9007199254740993", want "9007199254740992"`},
		{name: "json array index", expect: Expect{JSON: []JSONExpect{{"data.items.0.id", "7"}}}, result: ok, body: doc},
		{name: "json array index out of range", expect: Expect{JSON: []JSONExpect{{"data.items.5.id", "7"}}}, result: ok, body: doc,
			want: "json data.items.5.id missing"},
		{name: "json array bad index", expect: Expect{JSON: []JSONExpect{{"data.items.x", "7"}}}, result: ok, body: doc,
			want: "json data.items.x missing"},
		{name: "json bool", expect: Expect{JSON: []JSONExpect{{"data.on", "true"}}}, result: ok, body: doc},
		{name: "json null", expect: Expect{JSON: []JSONExpect{{"data.gone", "null"}}}, result: ok, body: doc},
		{name: "json string true is not bool", expect: Expect{JSON: []JSONExpect{{"data.status", "true"}}}, result: ok, body: doc,
			want: `json data.status = "up", want "true"`},
		{name: "json object compact", expect: Expect{JSON: []JSONExpect{{"data.obj", `{"a":1}`}}}, result: ok, body: doc},
		{name: "json all must pass", expect: Expect{JSON: []JSONExpect{{"data.status", "up"}, {"data.count", "5"}}},
			result: ok, body: doc, want: `json data.count = "3", want "5"`},
		{name: "json not json", expect: Expect{JSON: []JSONExpect{{"a", "b"}}}, result: ok, body: "<html>",
			want: "body is not json"},
		{name: "json cut body", expect: Expect{JSON: []JSONExpect{{"a", "b"}}},
			result: with(func(r *Result) { r.BodyTruncated = true }), body: `{"a": "bbbb`,
			want: "body is not json (body cut at 1 MiB)"},

		{name: "latency within", expect: Expect{MaxLatency: time.Second}, result: ok},
		{name: "latency over", expect: Expect{MaxLatency: 2 * time.Second},
			result: with(func(r *Result) { r.Duration = 2300 * time.Millisecond }), want: "latency 2.3s over 2s"},
		{name: "latency just over never reads equal", expect: Expect{MaxLatency: 2 * time.Second},
			result: with(func(r *Result) { r.Duration = 2*time.Second + time.Microsecond }), want: "latency 2.01s over 2s"},
		{name: "latency under a second", expect: Expect{MaxLatency: 500 * time.Millisecond},
			result: with(func(r *Result) { r.Duration = 812 * time.Millisecond }), want: "latency 812ms over 500ms"},

		{name: "cert far enough", expect: Expect{CertMinValidity: 14 * 24 * time.Hour},
			result: with(func(r *Result) { r.CertNotAfter = at.Add(30 * 24 * time.Hour) })},
		{name: "cert too close", expect: Expect{CertMinValidity: 14 * 24 * time.Hour},
			result: with(func(r *Result) { r.CertNotAfter = at.Add(3*24*time.Hour + 5*time.Hour) }),
			want:   "certificate expires in 3d, want ≥ 14d"},
		{name: "cert hours left", expect: Expect{CertMinValidity: 14 * 24 * time.Hour},
			result: with(func(r *Result) { r.CertNotAfter = at.Add(5 * time.Hour) }),
			want:   "certificate expires in 5h, want ≥ 14d"},
		{name: "cert expired", expect: Expect{CertMinValidity: 24 * time.Hour},
			result: with(func(r *Result) { r.CertNotAfter = at.Add(-48 * time.Hour) }),
			want:   "certificate expired 2d ago, want ≥ 1d"},
		{name: "cert bound without cert is ignored", expect: Expect{CertMinValidity: time.Hour}, result: ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.result
			Evaluate(tt.expect, &r, []byte(tt.body))
			if r.Reason != tt.want {
				t.Errorf("reason = %q, want %q", r.Reason, tt.want)
			}
			if r.OK != (tt.want == "") {
				t.Errorf("ok = %v with reason %q", r.OK, r.Reason)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    StatusRange
		wantErr bool
	}{
		{in: "200", want: StatusRange{200, 200}},
		{in: " 404 ", want: StatusRange{404, 404}},
		{in: "2xx", want: StatusRange{200, 299}},
		{in: "3XX", want: StatusRange{300, 399}},
		{in: "5xx", want: StatusRange{500, 599}},
		{in: "6xx", wantErr: true},
		{in: "0xx", wantErr: true},
		{in: "99", wantErr: true},
		{in: "600", wantErr: true},
		{in: "+200", wantErr: true},
		{in: "2x", wantErr: true},
		{in: "", wantErr: true},
		{in: "ok", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStatus(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStatusRange_String(t *testing.T) {
	tests := []struct {
		r    StatusRange
		want string
	}{
		{StatusRange{200, 200}, "200"},
		{StatusRange{200, 299}, "2xx"},
		{StatusRange{200, 204}, "200-204"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLookup_FoldedKeysDeterministic(t *testing.T) {
	// Two keys fold to "status"; the smallest wins every time, whatever the
	// map's iteration order.
	doc := map[string]any{"STATUS": "a", "Status": "b"}
	for range 20 {
		v, ok := lookup(doc, "status")
		if !ok || v != "a" {
			t.Fatalf("lookup = %v, %v; want a", v, ok)
		}
	}
}

func FuzzEvaluateJSON(f *testing.F) {
	f.Add(`{"a": {"b": [1, "x", null]}}`, "a.b.1", "x")
	f.Add(`{"n": 1e999999999}`, "n", "1e5")
	f.Add(`[1, 2]`, "0", "1.0")
	f.Fuzz(func(t *testing.T, body, path, value string) {
		r := Result{StatusCode: 200}
		Evaluate(Expect{JSON: []JSONExpect{{path, value}}}, &r, []byte(body))
		if r.OK == (r.Reason != "") {
			t.Fatalf("ok %v with reason %q", r.OK, r.Reason)
		}
		if strings.Contains(r.Reason, "\n") && !strings.Contains(path, "\n") {
			t.Fatalf("reason spans lines: %q", r.Reason)
		}
	})
}
