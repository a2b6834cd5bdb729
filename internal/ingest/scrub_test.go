package ingest

import (
	"strings"
	"testing"
)

func TestScrubText(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // exact result, or "" to only check secrets
		secrets  []string
	}{
		{name: "query token", in: "GET https://api.example/x?token=abc123&page=2 failed",
			want: "GET https://api.example/x?token=[redacted]&page=2 failed"},
		{name: "query access_token upper", in: "/x?ACCESS_TOKEN=abc123", want: "/x?ACCESS_TOKEN=[redacted]"},
		{name: "api key param", in: "/x?api_key=k1&apiKey=k2", want: "/x?api_key=[redacted]&apiKey=[redacted]"},
		{name: "userinfo", in: "fetch https://bob:hunter2@api.example/p", want: "fetch https://[redacted]@api.example/p"},
		{name: "authorization header line", in: "Authorization: Digest username=\"a\", response=\"b\"\nHost: x",
			want: "Authorization: [redacted]\nHost: x"},
		{name: "cookie line", in: "Cookie: sid=abc; theme=dark", want: "Cookie: [redacted]"},
		{name: "bearer anywhere", in: "sent Bearer abc.def-ghi to the server", want: "sent Bearer [redacted] to the server"},
		{name: "bearer url-encoded", in: "h=Bearer%20abcdef", want: "h=Bearer [redacted]"},
		{name: "basic credentials", in: "Basic dXNlcjpwYXNzd29yZA== sent", want: "Basic [redacted] sent"},
		{name: "basic word kept", in: "basic auth failed", want: "basic auth failed"},
		{name: "jwt", in: "jwt was eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_ ok", secrets: []string{"eyJhbGciOiJIUzI1NiJ9", "sig-nature"}},
		{name: "json pair", in: `{"password":"p@ss w0rd","user":"bob"}`, want: `{"password":"[redacted]","user":"bob"}`},
		{name: "json pair with escaped quote", in: `{"token":"a\"b c","x":1}`, want: `{"token":"[redacted]","x":1}`},
		{name: "double-encoded json", in: `{\"Authorization\":\"Bearer SECRET_X\",\"Accept\":\"*/*\"}`,
			want: `{\"Authorization\":\"[redacted]\",\"Accept\":\"*/*\"}`},
		{name: "unterminated quote", in: `"session": "abc def`, want: `"session": "[redacted]"`},
		{name: "single quotes", in: `{'secret': 'x y'}`, want: `{'secret': '[redacted]'}`},
		{name: "x-api-key header", in: "X-Api-Key: k-123", want: "X-Api-Key: [redacted]"},
		{name: "set-cookie", in: "Set-Cookie: id=a3fWa; Max-Age=2592000", want: "Set-Cookie: [redacted]"},
		{name: "nothing secret", in: "Request failed with status code 502", want: "Request failed with status code 502"},
		{name: "econnrefused", in: "connect ECONNREFUSED 127.0.0.1:18673", want: "connect ECONNREFUSED 127.0.0.1:18673"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrubText(tt.in)
			if tt.want != "" || tt.in == "" {
				if got != tt.want {
					t.Errorf("scrubText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
				}
			}
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("scrubText(%q) = %q keeps %q", tt.in, got, s)
				}
			}
		})
	}
}

func TestScrubWindow(t *testing.T) {
	// A secret cut by the window's edge no longer matches any rule: it is
	// dropped whole rather than shown in part.
	in := strings.Repeat("x ", 10) + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
	got := scrubWindow(in, 30, 1000)
	if strings.Contains(got, "eyJ") {
		t.Errorf("scrubWindow kept part of a cut JWT: %q", got)
	}
	if got := scrubWindow(strings.Repeat("a", 2000), 4096, 100); len(got) > 100 {
		t.Errorf("scrubWindow returned %d bytes, want ≤ 100", len(got))
	}
}

func TestSecretName(t *testing.T) {
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "api-key",
		"apiKey", "access_token", "refreshToken", "client_secret", "password", "passwd", "sessionId", "jwt", "credentials", "xsrfCookieName"} {
		if !secretName(name) {
			t.Errorf("secretName(%q) = false", name)
		}
	}
	for _, name := range []string{"Accept", "page", "url", "method", "User-Agent", "message"} {
		if secretName(name) {
			t.Errorf("secretName(%q) = true", name)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want details
	}{
		{name: "relative url with baseURL",
			in:   `{"message":"m","config":{"method":"post","url":"stores/42?token=x","baseURL":"https://u:p@API.example/v1/"}}`,
			want: details{method: "POST", host: "api.example", path: "/v1/stores/:id", message: "m"}},
		{name: "absolute url ignores baseURL",
			in:   `{"message":"m","config":{"method":"get","url":"http://a.example/x","baseURL":"https://b.example"}}`,
			want: details{method: "GET", host: "a.example", path: "/x", message: "m"}},
		{name: "relative without baseURL",
			in:   `{"code":"ERR_NETWORK","config":{"url":"/api/x#frag"}}`,
			want: details{path: "/api/x", code: "ERR_NETWORK"}},
		{name: "status from status", in: `{"name":"AxiosError","status":504}`, want: details{status: 504}},
		{name: "status from response", in: `{"name":"AxiosError","response":{"status":"404"}}`, want: details{status: 404}},
		{name: "responseStatus wins", in: `{"name":"AxiosError","responseStatus":502,"status":500}`, want: details{status: 502}},
		{name: "bogus status", in: `{"name":"AxiosError","responseStatus":99999}`, want: details{}},
		{name: "odd method dropped", in: `{"name":"E","config":{"method":"GET /x"}}`, want: details{}},
		{name: "wrong types tolerated", in: `{"message":7,"code":"C","config":"x"}`, want: details{code: "C"}},
		{name: "message scrubbed", in: `{"message":"GET /x?token=abc failed"}`, want: details{message: "GET /x?token=[redacted] failed"}},
		{name: "opaque text", in: "something broke, password=hunter2", want: details{opaque: "something broke, password=[redacted]"}},
		{name: "opaque json", in: `{"foo":"bar","headers":{"Authorization":"Bearer x"},"apiKey":"k"}`,
			want: details{opaque: `{"apiKey":"[redacted]","foo":"bar","headers":{"Authorization":"[redacted]"}}`}},
		{name: "opaque broken json", in: `{"message":"x", "token":"abc"`, want: details{opaque: `{"message":"x", "token":"[redacted]"`}},
		{name: "empty", in: "  ", want: details{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(tt.in); got != tt.want {
				t.Errorf("describe(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}
