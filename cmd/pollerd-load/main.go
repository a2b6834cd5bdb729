// Command pollerd-load posts client reports to a pollerd on this machine and
// prints how fast it took them: requests, answers by status code, reports
// per second and latency percentiles. It measures the ingest path end to end
// (rate limit, decode, scrub, fingerprint, dedup) over real keep-alive HTTP.
//
//	go run ./cmd/pollerd-load -url http://127.0.0.1:8080/api/v1/reports \
//	    -n 20000 -c 8 -body ../shared/fixtures/reports/node-502.json [-distinct]
//
// It sends exactly -n requests from -c workers, each request bounded by
// -req-timeout and the whole run by -timeout. With -distinct every request
// is its own failure: the -vary path in the body (by default
// /api/stores/123, as in the real fixtures) becomes /api/x<letters>, a
// segment that fingerprinting keeps (it folds digits and ids, not letters),
// so each report gets its own fingerprint. That is the flood pollerd's
// memory bound is about. -start shifts the counter, so that a second run
// against the same pollerd makes new fingerprints rather than repeats.
//
// It is a load generator, so it refuses any URL whose host is not
// 127.0.0.1, localhost or [::1], and its dialer refuses any address that is
// not loopback (a localhost that resolves elsewhere, a redirect). Point it
// at a pollerd with high rate limits, or 429s measure the limiter instead.
//
// Exit status: 0 when every request got an HTTP answer, 1 otherwise, 2 on
// bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pollerd-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o        Options
		bodyPath string
		vary     string
	)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080/api/v1/reports", "report endpoint (loopback only)")
	fs.IntVar(&o.N, "n", 10000, "requests to send")
	fs.IntVar(&o.Workers, "c", 8, "concurrent workers (each with its own keep-alive connection)")
	fs.StringVar(&bodyPath, "body", "", "file with the report body (default: a small built-in report)")
	fs.StringVar(&o.ContentType, "content-type", "application/json", "Content-Type of the posts")
	fs.BoolVar(&o.Distinct, "distinct", false, "make each report its own fingerprint (rewrites -vary in the body)")
	fs.StringVar(&vary, "vary", DefaultVary, "path in the body that -distinct rewrites per request")
	fs.IntVar(&o.Start, "start", 0, "first -distinct counter: runs against one pollerd with different -start make new fingerprints")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "bound of the whole run")
	fs.DurationVar(&o.RequestTimeout, "req-timeout", 10*time.Second, "bound of one request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pollerd-load: unexpected arguments %q\n", fs.Args())
		return 2
	}
	o.Body, o.Vary = []byte(defaultBody), []byte(vary)
	if bodyPath != "" {
		b, err := os.ReadFile(bodyPath)
		if err != nil {
			fmt.Fprintf(stderr, "pollerd-load: %v\n", err)
			return 2
		}
		o.Body = b
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := Run(ctx, o)
	if err != nil && res == nil {
		fmt.Fprintf(stderr, "pollerd-load: %v\n", err)
		return 2
	}
	res.Print(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "pollerd-load: %v\n", err)
		return 1
	}
	return 0
}

// defaultBody is a small report for a quick run without -body.
const defaultBody = `{"serviceName":"tteokbokki-map","types":["slack"],"description":"{\"message\":\"Request failed with status code 502\",\"name\":\"AxiosError\",\"code\":\"ERR_BAD_RESPONSE\",\"config\":{\"method\":\"get\",\"url\":\"/api/stores/123\"},\"responseStatus\":502}"}`
