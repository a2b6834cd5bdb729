package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestKinds_Registry(t *testing.T) {
	if got, want := Schemes(), []string{"dns", "http", "https", "tcp", "tls"}; !slices.Equal(got, want) {
		t.Errorf("Schemes() = %v, want %v", got, want)
	}
	for _, k := range Kinds() {
		if len(k.Schemes) == 0 || k.CheckURL == nil || k.Probe == nil {
			t.Errorf("kind %v lacks schemes, CheckURL or Probe", k.Schemes)
		}
		if (len(k.Keys) > 0) != (k.Decode != nil) {
			t.Errorf("kind %v: keys %v but Decode set = %v", k.Schemes, k.Keys, k.Decode != nil)
		}
	}
	if k, ok := KindOf("https"); !ok || !k.Takes("expect") || k.Takes("interval") {
		t.Errorf("KindOf(https) = %v, %v", k.Schemes, ok)
	}
	if k, ok := KindOf("tcp"); !ok || k.Takes("method") {
		t.Errorf("KindOf(tcp) = %v, %v", k.Schemes, ok)
	}
	if _, ok := KindOf("ftp"); ok {
		t.Error("KindOf(ftp) found")
	}
}

func TestKind_CheckURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://example.com/x", ""},
		{"https://example.com:8443/", ""},
		{"http:///path", "needs a host"},
		{"https://example.com:0/", "port must be 1-65535"},
		{"tcp://db.example:5432", ""},
		{"tcp://db.example:5432/", ""},
		{"tcp://db.example", "tcp needs host:port (like tcp://db.example:5432)"},
		{"tcp://:5432", "tcp needs host:port (like tcp://db.example:5432)"},
		{"tcp://db.example:70000", "port must be 1-65535"},
		{"tcp://u:p@db.example:5432", "tcp takes only host:port"},
		{"tcp://db.example:5432/x", "tcp takes only host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			k, _ := KindOf(u.Scheme)
			if got := k.CheckURL(u); got != tt.want {
				t.Errorf("CheckURL = %q, want %q", got, tt.want)
			}
		})
	}
}

// mapDecoder is a Decoder over plain values with no ${VAR}: enough to drive
// a kind's Decode without internal/config.
type mapDecoder struct{ problems []string }

func (d *mapDecoder) String(_ string, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	s := fmt.Sprint(v)
	return s, s != ""
}

func (d *mapDecoder) Bool(_ string, v any, def bool) bool {
	if b, ok := v.(bool); ok {
		return b
	}
	return def
}

func (d *mapDecoder) Duration(_ string, v any) time.Duration {
	s, _ := v.(string)
	dur, _ := time.ParseDuration(s)
	return dur
}

func (d *mapDecoder) Fields(key string, v any, known ...string) map[string]any {
	m, _ := v.(map[string]any)
	for k := range m {
		if !slices.Contains(known, k) {
			d.Problem(key+"."+k, "unknown key")
		}
	}
	return m
}

func (d *mapDecoder) Problem(key, format string, args ...any) {
	d.problems = append(d.problems, key+": "+fmt.Sprintf(format, args...))
}

func TestHTTPKind_Decode(t *testing.T) {
	k, _ := KindOf("http")
	t.Run("defaults", func(t *testing.T) {
		var d mapDecoder
		got := k.Decode(&d, map[string]any{})
		want := HTTPSpec{Method: "GET", FollowRedirects: true}
		if !reflect.DeepEqual(got, want) || d.problems != nil {
			t.Errorf("got %#v %v, want %#v", got, d.problems, want)
		}
	})
	t.Run("settings", func(t *testing.T) {
		var d mapDecoder
		got := k.Decode(&d, map[string]any{
			"method":  "post",
			"headers": map[string]any{"x-probe": "pollerd"},
			"expect": map[string]any{
				"status": []any{200, "3xx"},
				"json":   map[string]any{"data": map[string]any{"ok": true}},
			},
		})
		want := HTTPSpec{Method: "POST", FollowRedirects: true, Headers: http.Header{"X-Probe": {"pollerd"}},
			Expect: Expect{Status: []StatusRange{{Lo: 200, Hi: 200}, {Lo: 300, Hi: 399}},
				JSON: []JSONExpect{{Path: "data.ok", Value: "true"}}}}
		if !reflect.DeepEqual(got, want) || d.problems != nil {
			t.Errorf("got %#v %v, want %#v", got, d.problems, want)
		}
	})
	t.Run("problems are relative to the target", func(t *testing.T) {
		var d mapDecoder
		k.Decode(&d, map[string]any{
			"method": "g et",
			"expect": map[string]any{"status": []any{200, "6xx"}, "body_regex": "(", "bodycontains": "x"},
		})
		want := []string{
			`method: "G ET" is not an HTTP method`,
			"expect.bodycontains: unknown key",
			"expect.status[1]: 6xx is not a status code or class (100-599, or 1xx-5xx)",
			"expect.body_regex: bad regex: error parsing regexp: missing closing ): `(`",
		}
		if !slices.Equal(d.problems, want) {
			t.Errorf("problems:\n%q\nwant:\n%q", d.problems, want)
		}
	})
}

func TestHTTP_WrongSpec(t *testing.T) {
	tg := target(t, "http://"+refusedAddr(t))
	tg.Spec = "not a spec"
	res := Run(context.Background(), tg)
	if res.OK || res.Reason != "http: spec is string, want HTTPSpec" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}
