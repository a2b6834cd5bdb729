package probe

import (
	"context"
	"net"
	"net/url"
	"time"
)

// tcpKind probes tcp://host:port URLs. It takes no settings.
var tcpKind = Kind{
	Schemes:  []string{"tcp"},
	CheckURL: checkTCPURL,
	Probe:    TCP,
}

// checkTCPURL: a tcp URL is host:port and nothing else.
func checkTCPURL(u *url.URL) string {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return "tcp needs host:port (like tcp://db.example:5432)"
	}
	if msg := checkPort(port, false); msg != "" {
		return msg
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "tcp takes only host:port"
	}
	return ""
}

// tcpDialer is shared: a net.Dialer holds only settings.
var tcpDialer = &net.Dialer{KeepAlive: -1}

// TCP probes a tcp://host:port target: it connects and closes. Passing means
// something accepted the connection; nothing is sent.
func TCP(ctx context.Context, t Target) Result {
	start := time.Now()
	res := Result{At: start}
	if t.URL == nil || t.URL.Port() == "" {
		return failed(res, "tcp: url needs host:port")
	}
	timeout := timeoutOf(t)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	conn, err := tcpDialer.DialContext(ctx, "tcp", t.URL.Host)
	res.Duration = time.Since(start)
	res.Timings.Connect = res.Duration
	if err != nil {
		return failed(res, errReason(err, ctx.Err(), timeout))
	}
	_ = conn.Close() // the connection was the test; a close error says nothing more
	res.OK = true
	return res
}
