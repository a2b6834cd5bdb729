package probe

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsReply is how the test server answers one name and type.
type dnsReply struct {
	rcode    dnsmessage.RCode
	values   []string // A/AAAA IPs, CNAME/MX/NS names, TXT strings
	drop     bool     // never answer (the client times out)
	truncate bool     // over UDP: TC set and no records, so the client asks over TCP
}

// dnsServer is a loopback DNS server for tests, on UDP and TCP at the same
// port. zone maps "name TYPE" ("home.example.com A") to a reply; a name
// absent from every key is NXDOMAIN, a known name with another type
// NOERROR with no records.
type dnsServer struct {
	Addr    string
	zone    map[string]dnsReply
	queries atomic.Int32
	tcp     atomic.Int32
}

func newDNSServer(tb testing.TB, zone map[string]dnsReply) *dnsServer {
	tb.Helper()
	s := &dnsServer{zone: zone}
	var (
		pc net.PacketConn
		l  net.Listener
	)
	for range 10 { // the TCP port may be taken; try another pair
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		_ = pc.Close()
		pc = nil
	}
	if pc == nil {
		tb.Fatal("no UDP and TCP port pair on 127.0.0.1")
	}
	s.Addr = pc.LocalAddr().String()
	tb.Cleanup(func() { _ = pc.Close(); _ = l.Close() })
	go s.serveUDP(pc)
	go s.serveTCP(l)
	return s
}

func (s *dnsServer) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.queries.Add(1)
		if resp := s.answer(buf[:n], true); resp != nil {
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

func (s *dnsServer) serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var size [2]byte
			if _, err := io.ReadFull(c, size[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(size[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			s.tcp.Add(1)
			if resp := s.answer(q, false); resp != nil {
				_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...))
			}
		}()
	}
}

// answer builds the response to query, or nil to stay silent.
func (s *dnsServer) answer(query []byte, udp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	typ := strings.TrimPrefix(q.Type.String(), "Type")
	reply, found := s.zone[name+" "+typ]
	if !found {
		reply.rcode = dnsmessage.RCodeNameError
		for key := range s.zone {
			if strings.HasPrefix(key, name+" ") {
				reply.rcode = dnsmessage.RCodeSuccess
			}
		}
	}
	if reply.drop {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: reply.rcode, Truncated: udp && reply.truncate})
	b.EnableCompression()
	must(b.StartQuestions())
	must(b.Question(q))
	must(b.StartAnswers())
	if !(udp && reply.truncate) {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		for _, v := range reply.values {
			must(addRecord(&b, rh, q.Type, v))
		}
	}
	resp, err := b.Finish()
	must(err)
	return resp
}

func addRecord(b *dnsmessage.Builder, rh dnsmessage.ResourceHeader, t dnsmessage.Type, v string) error {
	switch t {
	case dnsmessage.TypeA:
		return b.AResource(rh, dnsmessage.AResource{A: netip.MustParseAddr(v).As4()})
	case dnsmessage.TypeAAAA:
		return b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(v).As16()})
	case dnsmessage.TypeCNAME:
		return b.CNAMEResource(rh, dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(v + ".")})
	case dnsmessage.TypeMX:
		return b.MXResource(rh, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName(v + ".")})
	case dnsmessage.TypeNS:
		return b.NSResource(rh, dnsmessage.NSResource{NS: dnsmessage.MustNewName(v + ".")})
	case dnsmessage.TypeTXT:
		return b.TXTResource(rh, dnsmessage.TXTResource{TXT: []string{v}})
	}
	return errors.New("test server: unsupported type")
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
