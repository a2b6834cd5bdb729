package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// maxReason bounds a reason's length; alert text quotes it whole.
const maxReason = 200

// errReason turns a probe error into one short lowercase line. ctxErr is the
// probe context's own error (deadline or cancel), which explains an I/O error
// better than the error itself does; timeout is what the probe allowed.
func errReason(err, ctxErr error, timeout time.Duration) string {
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return "timeout after " + timeout.String()
	case errors.Is(ctxErr, context.Canceled):
		return "canceled"
	}
	return sanitize(describe(err, timeout))
}

func describe(err error, timeout time.Duration) string {
	var (
		dnsErr   *net.DNSError
		invalid  x509.CertificateInvalidError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
		verErr   *tls.CertificateVerificationError
		opErr    *net.OpError
		errno    syscall.Errno
		netErr   net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout after " + timeout.String()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr):
		return dnsReason(dnsErr)
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			if invalid.Cert != nil && time.Now().Before(invalid.Cert.NotBefore) {
				return "tls: certificate is not yet valid"
			}
			return "tls: certificate has expired"
		}
		return "tls: " + invalid.Error()
	case errors.As(err, &unknown):
		return "tls: x509: certificate signed by unknown authority"
	case errors.As(err, &hostErr):
		return "tls: x509: certificate is not valid for " + hostErr.Host
	case errors.As(err, &verErr):
		return "tls: certificate verification failed"
	case errors.As(err, &alertErr):
		return alertErr.Error() // "tls: handshake failure"
	case errors.As(err, &recErr):
		return "tls: server did not answer with tls"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout after " + timeout.String()
	case errors.As(err, &opErr):
		return opReason(opErr)
	case errors.As(err, &errno):
		return errno.Error()
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"): // untyped in net/http
		return "tls: server answered with plain http"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // url.Error prints the URL, query and all
	}
	return err.Error()
}

// dnsReason keeps the resolver's verdict and drops the name and server,
// which a reader already knows and which may be internal.
func dnsReason(e *net.DNSError) string {
	switch {
	case e.IsNotFound:
		return "dns: no such host"
	case e.IsTimeout:
		return "dns: timeout"
	default:
		return "dns: " + e.Err
	}
}

// opReason names the phase in the words of a person reading an alert:
// "dial" is a connect, the rest keep their op ("read", "write").
func opReason(e *net.OpError) string {
	op := e.Op
	if op == "dial" {
		op = "connect"
	}
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		return op + ": " + errno.Error()
	}
	if e.Err == nil {
		return op + ": failed"
	}
	msg := e.Err.Error()
	if se, ok := e.Err.(interface{ Unwrap() error }); ok && se.Unwrap() != nil {
		msg = se.Unwrap().Error() // *os.SyscallError prints "connect: …" itself
	}
	return op + ": " + msg
}

// urlInText finds URLs inside free text, where userinfo or a query (a token)
// might hide.
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

// sanitize makes any text safe and short for a reason: one line, URLs shown
// without userinfo, query or fragment, at most maxReason bytes.
func sanitize(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, redactURL)
	}
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 rune
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// redactURL prints u with scheme, host and path only; an unparsable one is
// replaced whole, since it cannot be shown to be clean.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<url>"
	}
	return Redact(u)
}

// Redact prints a URL without userinfo, query or fragment, the form in which
// a target URL may appear in a reason, a log line or the status API.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}
	if strings.Contains(c.Opaque, "@") || strings.Contains(c.Opaque, "?") {
		c.Opaque = ""
	}
	return c.String()
}
