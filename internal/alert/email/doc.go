// Package email is the e-mail channel: it submits each message over SMTP
// (the standard library's net/smtp) as a plain-text mail whose subject is
// the message's first line. STARTTLS is required by default; credentials
// are sent (AUTH PLAIN) only over TLS, or to a loopback server. SMTP 4xx
// replies and connection errors are retried, 5xx replies are permanent.
// The password never appears in errors or logs.
package email
