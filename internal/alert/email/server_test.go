package email

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a small SMTP server on 127.0.0.1 for the tests: EHLO,
// STARTTLS (with a self-signed certificate), AUTH PLAIN, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT. Replies to MAIL, RCPT and the end of DATA can be
// scripted per step; it records every accepted mail.
type testServer struct {
	addr     string
	tls      *tls.Config // nil: no STARTTLS offered
	roots    *x509.CertPool
	user     string // AUTH PLAIN accepts only this user and pass
	pass     string
	greeting string // default "220 test ESMTP"

	mu      sync.Mutex
	script  map[string][]string // step ("mail", "rcpt", "data") → replies to give, in order
	mails   []gotMail
	authLog []string // every AUTH line the server saw in clear
	l       net.Listener
	wg      sync.WaitGroup
}

type gotMail struct {
	from string
	to   []string
	data string
	tls  bool
	user string
}

type serverOpt func(*testServer)

func withTLS(s *testServer) { s.tls, s.roots = selfSigned() }
func withAuth(user, pass string) serverOpt {
	return func(s *testServer) { s.user, s.pass = user, pass }
}
func withGreeting(line string) serverOpt { return func(s *testServer) { s.greeting = line } }
func withScript(step string, r ...string) serverOpt {
	return func(s *testServer) { s.script[step] = append(s.script[step], r...) }
}

func startServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	s := &testServer{greeting: "220 test ESMTP", script: map[string][]string{}}
	for _, o := range opts {
		o(s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.l, s.addr = l, l.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); s.wg.Wait() })
	return s
}

func (s *testServer) Mails() []gotMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gotMail(nil), s.mails...)
}

func (s *testServer) next(step, def string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.script[step]; len(q) > 0 {
		s.script[step] = q[1:]
		return q[0]
	}
	return def
}

func (s *testServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply(s.greeting)
	if !strings.HasPrefix(s.greeting, "220") {
		return
	}
	var cur gotMail
	inTLS := false
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-test greets you"}
			if s.tls != nil && !inTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 8BITMIME")
			for _, e := range ext {
				reply(e)
			}
		case "STARTTLS":
			if s.tls == nil || inTLS {
				reply("502 no")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, inTLS, cur = tc, true, gotMail{}
			tp = textproto.NewConn(tc)
		case "AUTH":
			if !inTLS {
				s.mu.Lock()
				s.authLog = append(s.authLog, line)
				s.mu.Unlock()
			}
			mech, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) == "PLAIN" && len(parts) == 3 && parts[1] == s.user && parts[2] == s.pass {
				cur.user = parts[1]
				reply("235 2.7.0 ok")
			} else {
				reply("535 5.7.8 authentication failed")
			}
		case "MAIL":
			if s.user != "" && cur.user == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			r := s.next("mail", "250 2.1.0 ok")
			if strings.HasPrefix(r, "250") {
				cur.from, _, _ = strings.Cut(strings.TrimPrefix(arg, "FROM:<"), ">")
			}
			reply(r)
		case "RCPT":
			r := s.next("rcpt", "250 2.1.5 ok")
			if strings.HasPrefix(r, "250") {
				to, _, _ := strings.Cut(strings.TrimPrefix(arg, "TO:<"), ">")
				cur.to = append(cur.to, to)
			}
			reply(r)
		case "DATA":
			reply("354 end with .")
			data, err := bufio.NewReader(tp.DotReader()).ReadString(0)
			if err != nil && data == "" {
				return
			}
			r := s.next("data", "250 2.0.0 queued")
			if strings.HasPrefix(r, "250") {
				m := cur
				m.data, m.tls = data, inTLS
				s.mu.Lock()
				s.mails = append(s.mails, m)
				s.mu.Unlock()
			}
			cur = gotMail{user: cur.user}
			reply(r)
		case "RSET":
			cur = gotMail{user: cur.user}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 5.5.2 unknown command")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned() (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pollerd test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
