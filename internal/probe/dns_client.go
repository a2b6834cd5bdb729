package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The client below asks one question and reports the response code and
// records as they came. net.Resolver cannot do that: it reports NXDOMAIN
// and an answer with no records of the type alike as "no such host",
// LookupCNAME follows the chain (and answers the name itself when there is
// no CNAME), and host lookups read /etc/hosts and try search domains.

// dnsAnswer is what a resolver answered: its response code and the records
// of the type asked for, in the order given (A and AAAA as IPs, names
// without the trailing dot, each TXT record's strings joined).
type dnsAnswer struct {
	rcode   int
	records []string
}

const (
	rcodeSuccess = int(dnsmessage.RCodeSuccess)
	// maxAnswers bounds what a probe keeps of an answer.
	maxAnswers = 64
	// dnsUDPSize is the EDNS(0) payload size announced, the DNS flag day's
	// choice; longer answers come truncated and are asked again over TCP.
	dnsUDPSize = 1232
	// dnsRetry is how long to wait for a UDP answer before asking again.
	dnsRetry = time.Second
)

var (
	// ErrDNSMalformed: the resolver's response could not be parsed.
	ErrDNSMalformed = errors.New("dns: malformed response")
	// ErrDNSMismatch: a TCP response answered another question.
	ErrDNSMismatch = errors.New("dns: response does not match the question")
)

var dnsTypeCodes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "AAAA": dnsmessage.TypeAAAA, "CNAME": dnsmessage.TypeCNAME,
	"MX": dnsmessage.TypeMX, "NS": dnsmessage.TypeNS, "TXT": dnsmessage.TypeTXT,
}

// rcodeName names a response code as dig prints it.
func rcodeName(rc int) string {
	switch dnsmessage.RCode(rc) {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("rcode %d", rc)
}

// resolvConf is where the system's resolver is read from.
var resolvConf = "/etc/resolv.conf"

// systemResolver returns the first nameserver of resolvConf as IP:53, or
// 127.0.0.1:53 as the C library and Go's resolver assume without one.
func systemResolver() string {
	data, _ := os.ReadFile(resolvConf)
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip, err := netip.ParseAddr(f[1]); err == nil {
				return net.JoinHostPort(ip.String(), "53")
			}
		}
	}
	return "127.0.0.1:53"
}

// dnsDialer is shared: a net.Dialer holds only settings.
var dnsDialer = &net.Dialer{KeepAlive: -1}

// dnsExchange asks server (IP:port) for the records of type typ at name,
// until ctx ends.
func dnsExchange(ctx context.Context, server, name, typ string) (dnsAnswer, error) {
	qtype, ok := dnsTypeCodes[typ]
	if !ok {
		return dnsAnswer{}, fmt.Errorf("dns: unknown record type %q", truncate(typ))
	}
	qname, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return dnsAnswer{}, errors.New("dns: name too long")
	}
	q := dnsmessage.Question{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}
	id := uint16(rand.Uint32())
	query, err := packQuery(id, q)
	if err != nil {
		return dnsAnswer{}, err
	}
	resp, err := exchangeUDP(ctx, server, id, q, query)
	if errors.Is(err, errTruncated) {
		resp, err = exchangeTCP(ctx, server, id, q, query)
	}
	if err != nil {
		return dnsAnswer{}, err
	}
	return parseAnswer(resp, q)
}

func packQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(dnsUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	msg := dnsmessage.Message{
		Header:      dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions:   []dnsmessage.Question{q},
		Additionals: []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}},
	}
	return msg.Pack()
}

// errTruncated: the UDP answer was cut; ask again over TCP.
var errTruncated = errors.New("dns: truncated")

// exchangeUDP sends query and waits for its response, sending it again each
// dnsRetry (UDP may lose either). Datagrams that are no response to this
// query (another ID or question: late or forged) are ignored.
func exchangeUDP(ctx context.Context, server string, id uint16, q dnsmessage.Question, query []byte) ([]byte, error) {
	conn, err := dnsDialer.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 65535)
	for {
		if _, err := conn.Write(query); err != nil {
			return nil, err
		}
		retry, last := time.Now().Add(dnsRetry), false
		if d, ok := ctx.Deadline(); ok && !d.After(retry) {
			retry, last = d, true
		}
		if err := conn.SetReadDeadline(retry); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil { // canceled before the deadline above was set
			return nil, err
		}
		for {
			n, err := conn.Read(buf)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !last && ctx.Err() == nil {
				break // ask again
			}
			if err != nil {
				return nil, err
			}
			h, ok := matches(buf[:n], id, q)
			if !ok {
				continue
			}
			if h.Truncated {
				return nil, errTruncated
			}
			return buf[:n], nil
		}
	}
}

// exchangeTCP asks once over TCP, each message after its two-byte length.
func exchangeTCP(ctx context.Context, server string, id uint16, q dnsmessage.Question, query []byte) ([]byte, error) {
	conn, err := dnsDialer.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(query))), query...)); err != nil {
		return nil, err
	}
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, resp); err != nil {
		return nil, err
	}
	if _, ok := matches(resp, id, q); !ok {
		return nil, ErrDNSMismatch
	}
	return resp, nil
}

// matches reports whether msg is a response to the query id asking q.
func matches(msg []byte, id uint16, q dnsmessage.Question) (dnsmessage.Header, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.ID != id || !h.Response {
		return h, false
	}
	got, err := p.Question()
	if err != nil {
		// A response with no question section is a server's way to
		// answer FORMERR, NOTIMP or REFUSED; take it.
		return h, errors.Is(err, dnsmessage.ErrSectionDone) && h.RCode != dnsmessage.RCodeSuccess
	}
	return h, got.Type == q.Type && got.Class == q.Class && strings.EqualFold(got.Name.String(), q.Name.String())
}

// parseAnswer reads the response code and the records of q's type from a
// response that matches q. Records of other types (the CNAMEs that lead to
// an A record, say) are skipped.
func parseAnswer(msg []byte, q dnsmessage.Question) (dnsAnswer, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return dnsAnswer{}, ErrDNSMalformed
	}
	ans := dnsAnswer{rcode: int(h.RCode)}
	if err := p.SkipAllQuestions(); err != nil {
		return dnsAnswer{}, ErrDNSMalformed
	}
	for len(ans.records) < maxAnswers {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return dnsAnswer{}, ErrDNSMalformed
		}
		if rh.Type != q.Type || rh.Class != dnsmessage.ClassINET {
			if err := p.SkipAnswer(); err != nil {
				return dnsAnswer{}, ErrDNSMalformed
			}
			continue
		}
		rec, err := readRecord(&p, q.Type)
		if err != nil {
			return dnsAnswer{}, ErrDNSMalformed
		}
		ans.records = append(ans.records, rec)
	}
	ans.rcode = extendedRCode(&p, h, ans.rcode)
	return ans, nil
}

// extendedRCode completes the response code with the upper bits an OPT
// record carries. It reads on from wherever p stands in the answers.
func extendedRCode(p *dnsmessage.Parser, h dnsmessage.Header, rc int) int {
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return rc
	}
	for {
		ah, err := p.AdditionalHeader()
		if err != nil {
			return rc
		}
		if ah.Type == dnsmessage.TypeOPT {
			return int(ah.ExtendedRCode(h.RCode))
		}
		if p.SkipAdditional() != nil {
			return rc
		}
	}
}

func readRecord(p *dnsmessage.Parser, t dnsmessage.Type) (string, error) {
	switch t {
	case dnsmessage.TypeA:
		r, err := p.AResource()
		return netip.AddrFrom4(r.A).String(), err
	case dnsmessage.TypeAAAA:
		r, err := p.AAAAResource()
		return netip.AddrFrom16(r.AAAA).String(), err
	case dnsmessage.TypeCNAME:
		r, err := p.CNAMEResource()
		return hostName(r.CNAME), err
	case dnsmessage.TypeMX:
		r, err := p.MXResource()
		return hostName(r.MX), err
	case dnsmessage.TypeNS:
		r, err := p.NSResource()
		return hostName(r.NS), err
	case dnsmessage.TypeTXT:
		r, err := p.TXTResource()
		return strings.Join(r.TXT, ""), err
	}
	return "", p.SkipAnswer()
}

// hostName prints a name from an answer lower case, without the root dot.
func hostName(n dnsmessage.Name) string {
	return strings.ToLower(strings.TrimSuffix(n.String(), "."))
}
