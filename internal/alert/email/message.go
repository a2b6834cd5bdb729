package email

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pollerd/pollerd/internal/alert"
)

// maxSubject bounds the subject, in runes, so its header line stays short.
const maxSubject = 200

// Subject is the first line of the message's text, with control
// characters dropped (so untrusted text can never end the header) and cut
// to maxSubject runes with a visible marker.
func Subject(m alert.Message) string {
	line, _, _ := strings.Cut(m.Text, "\n")
	line, _, _ = strings.Cut(line, "\r")
	line = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, line)
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > maxSubject {
		line = string([]rune(line)[:maxSubject-1]) + "…"
	}
	if line == "" {
		line = string(m.Kind)
	}
	return line
}

// MessageID is the Message-ID of the mail for key: the same on every retry
// of a delivery, so a receiver (or its owner) can tell a retry from a new
// alert. domain is the From address's.
func MessageID(key, domain string) string {
	var b strings.Builder
	for _, r := range key {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('.')
		}
	}
	return "<pollerd." + b.String() + "@" + domain + ">"
}

// compose builds the whole mail: headers, a blank line, the body as
// quoted-printable UTF-8 text. Every header value is either ours or cleaned
// by Subject and encoded, so nothing in the message adds a header.
func compose(m alert.Message, from *mail.Address, to []*mail.Address, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = a.String()
	}
	date := m.At
	if date.IsZero() {
		date = now
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	subject := encodeSubject(Subject(m))
	// Fold between encoded words, so no header line grows past the limit.
	subject = strings.ReplaceAll(subject, "?= =?", "?=\r\n =?")
	fmt.Fprintf(&buf, "From: %s\r\n", from.String())
	fmt.Fprintf(&buf, "To: %s\r\n", strings.Join(tos, ", "))
	fmt.Fprintf(&buf, "Subject: %s\r\n", subject)
	fmt.Fprintf(&buf, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&buf, "Message-ID: %s\r\n", MessageID(m.Key, domain))
	buf.WriteString("Auto-Submitted: auto-generated\r\n")
	buf.WriteString("MIME-Version: 1.0\r\n")
	buf.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	buf.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&buf)
	if _, err := qp.Write([]byte(Body(m))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeSubject encodes s as RFC 2047 words where it needs them. Text that
// itself looks like an encoded word ("=?utf-8?q?…?=") is always encoded,
// so a reader shows it as written instead of decoding it.
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") {
		return mime.QEncoding.Encode("utf-8", s)
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for _, r := range s { // up to 45 bytes a word, on a rune boundary
			if n+utf8.RuneLen(r) > 45 && n > 0 {
				break
			}
			n += utf8.RuneLen(r)
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// Body is the plain-text body: the text, then each field on its own line,
// then the detail.
func Body(m alert.Message) string {
	var b strings.Builder
	b.WriteString(m.Text)
	b.WriteString("\n")
	if len(m.Fields) > 0 {
		b.WriteString("\n")
		for _, f := range m.Fields {
			fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
		}
	}
	if m.Detail != "" {
		b.WriteString("\n")
		b.WriteString(m.Detail)
		b.WriteString("\n")
	}
	return b.String()
}
