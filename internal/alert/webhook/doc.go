// Package webhook is the generic JSON webhook channel: it posts each
// message as a small documented JSON body (see Body) with the idempotency
// key in X-Pollerd-Delivery and, when a secret is configured, an HMAC-SHA256
// signature of the body in X-Pollerd-Signature. Answers are classified like
// Slack's: 2xx delivered, 429 waits its Retry-After, 5xx and network errors
// retry, other statuses are permanent. The URL and the secret never appear
// in errors or logs.
package webhook
