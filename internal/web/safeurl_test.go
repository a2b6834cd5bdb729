package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pollerd/pollerd/internal/web"
)

func TestSafeURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "https://home.example.com/api/health", "https://home.example.com/api/health"},
		{"userinfo", "https://alice:s3cret@home.example.com/api", "https://home.example.com/api"},
		{"user only", "https://alice@home.example.com/", "https://home.example.com/"},
		{"query", "https://home.example.com/api?token=abc&x=1", "https://home.example.com/api"},
		{"empty query", "https://home.example.com/api?", "https://home.example.com/api"},
		{"fragment", "https://home.example.com/#access_token=abc", "https://home.example.com/"},
		{"all at once", "https://u:p@h.example:8443/p/q?token=t#f", "https://h.example:8443/p/q"},
		{"tcp", "tcp://db.example.com:5432", "tcp://db.example.com:5432"},
		{"tcp userinfo", "tcp://u:p@db.example.com:5432", "tcp://db.example.com:5432"},
		{"unparsable, by hand", "https://u:p@bad host/x?token=t", "https://bad host/x"},
		{"bad escape, by hand", "https://u:p@h.example/%zz?token=t", "https://h.example/%zz"},
		{"opaque", "user:pass@host:8080", "host:8080"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := web.SafeURL(tt.in); got != tt.want {
				t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no url", "connection refused", "connection refused"},
		{
			"go url.Error",
			`Get "https://u:p@home.example.com/api?token=abc": dial tcp: connection refused`,
			`Get "https://home.example.com/api": dial tcp: connection refused`,
		},
		{
			"two urls",
			"redirect from http://a.example/?k=1 to https://x:y@b.example/z",
			"redirect from http://a.example/ to https://b.example/z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := web.SafeText(tt.in); got != tt.want {
				t.Errorf("SafeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSafeURL checks the promise for any input: no query or fragment
// separator survives, and a parsable result carries no userinfo.
func FuzzSafeURL(f *testing.F) {
	for _, s := range []string{
		"https://u:p@h/x?t=1#f", "tcp://h:1", "u:p@h:1", "https://u:p@bad host/?q", "%zz", "://@?#",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := web.SafeURL(in)
		if strings.ContainsAny(got, "?#") {
			t.Fatalf("SafeURL(%q) = %q keeps a query or fragment", in, got)
		}
		if u, err := url.Parse(got); err == nil && u.User != nil {
			t.Fatalf("SafeURL(%q) = %q keeps userinfo", in, got)
		}
	})
}
