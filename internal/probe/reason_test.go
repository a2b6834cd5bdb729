package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestErrReason(t *testing.T) {
	const timeout = 5 * time.Second
	// What net/http returns: the URL, query and userinfo included.
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://user:pw@example.com/x?token=s3cret", Err: err}
	}
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	expired := &x509.Certificate{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}
	future := &x509.Certificate{NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}

	tests := []struct {
		name   string
		err    error
		ctxErr error
		want   string
	}{
		{name: "refused", err: wrap(dial(syscall.ECONNREFUSED)), want: "connect: connection refused"},
		{name: "unreachable", err: wrap(dial(syscall.EHOSTUNREACH)), want: "connect: no route to host"},
		{name: "reset on read", err: wrap(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
			want: "read: connection reset by peer"},
		{name: "op without errno", err: &net.OpError{Op: "dial", Err: errors.New("weird")}, want: "connect: weird"},
		{name: "probe deadline", err: wrap(errors.New("anything")), ctxErr: context.DeadlineExceeded, want: "timeout after 5s"},
		{name: "deadline in error", err: wrap(context.DeadlineExceeded), want: "timeout after 5s"},
		{name: "dial timeout", err: wrap(&net.OpError{Op: "dial", Err: timeoutError{}}), want: "timeout after 5s"},
		{name: "canceled", err: wrap(context.Canceled), ctxErr: context.Canceled, want: "canceled"},
		{name: "dns not found", err: wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "internal.lan", Server: "10.0.0.1:53", IsNotFound: true}}),
			want: "dns: no such host"},
		{name: "dns timeout", err: wrap(&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}), want: "dns: timeout"},
		{name: "dns other", err: wrap(&net.DNSError{Err: "server misbehaving", Name: "x"}), want: "dns: server misbehaving"},
		{name: "cert expired", err: wrap(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: expired, Reason: x509.Expired}}),
			want: "tls: certificate has expired"},
		{name: "cert not yet valid", err: wrap(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: future, Reason: x509.Expired}}),
			want: "tls: certificate is not yet valid"},
		{name: "cert unknown authority", err: wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			want: "tls: x509: certificate signed by unknown authority"},
		{name: "cert wrong host", err: wrap(&tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: expired, Host: "home.example.com"}}),
			want: "tls: x509: certificate is not valid for home.example.com"},
		{name: "cert other invalid", err: wrap(x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign}),
			want: "tls: x509: certificate is not authorized to sign other certificates"},
		{name: "tls alert", err: wrap(tls.AlertError(40)), want: "tls: handshake failure"},
		{name: "not tls", err: wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
			want: "tls: server did not answer with tls"},
		{name: "eof", err: wrap(io.EOF), want: "server closed the connection"},
		{name: "unexpected eof", err: wrap(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)), want: "server closed the connection"},
		{name: "other error drops url", err: wrap(errors.New("stopped after 10 redirects")), want: "stopped after 10 redirects"},
		{name: "url inside text redacted", err: errors.New(`bad redirect to "https://u:p@host.example/a?token=s3cret#f"`),
			want: `bad redirect to "https://host.example/a"`},
		{name: "multi-line flattened", err: errors.New("line one\nline two"), want: "line one line two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errReason(tt.err, tt.ctxErr, timeout)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, secret := range []string{"s3cret", "pw@", "user:"} {
				if strings.Contains(got, secret) {
					t.Errorf("reason %q leaks %q", got, secret)
				}
			}
		})
	}
}

func TestSanitize_Long(t *testing.T) {
	got := sanitize(strings.Repeat("é", 300))
	if len(got) > maxReason+len("…") {
		t.Errorf("len = %d, want ≤ %d", len(got), maxReason+len("…"))
	}
	if !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "é") {
		t.Errorf("got %q", got)
	}
	if !utf8.ValidString(got) {
		t.Errorf("cut splits a rune: %q", got)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pw@example.com:8443/api/health?token=x#frag", "https://example.com:8443/api/health"},
		{"tcp://db.lan:5432", "tcp://db.lan:5432"},
		{"http://example.com", "http://example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := Redact(u); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := Redact(nil); got != "" {
		t.Errorf("Redact(nil) = %q", got)
	}
}
