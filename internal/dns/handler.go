package dns

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

const (
	// maxUDPSize caps the EDNS0 buffer size we answer with (the 2020 DNS
	// flag day value: no fragmentation on ordinary paths).
	maxUDPSize = 1232
	// maxQuerySize: a query is one question plus an OPT; anything larger
	// is not a query we answer.
	maxQuerySize = 4096
)

// transport is how a query arrived.
type transport int

const (
	udp transport = iota
	tcp
)

func (t transport) String() string {
	if t == tcp {
		return "tcp"
	}
	return "udp"
}

// resolver answers names outside the snapshot (the forwarder).
type resolver interface {
	Resolve(ctx context.Context, q dns.Question) (*dns.Msg, error)
}

// handler turns query bytes into response bytes.
type handler struct {
	snap    atomic.Pointer[Snapshot]
	answers answers
	up      resolver
	metrics *metrics
	timeout time.Duration
}

// handle answers one query. It returns the response, or, when the answer
// needs the upstream resolvers, a function computing it (run it off the
// reading goroutine). Both nil: drop the packet. An answer from the
// answer cache is written into dst (the caller's buffer, used before its
// next call), others are allocated.
func (h *handler) handle(ctx context.Context, raw []byte, tr transport, dst []byte) (resp []byte, later func() []byte) {
	start := time.Now()
	if len(raw) < 12 || len(raw) > maxQuerySize {
		h.metrics.dropped.Inc()
		return nil, nil
	}
	snap := h.snapshot()
	var keyBuf [maxKeyLen]byte
	key, nameLen, qtype, cacheable := answerKey(keyBuf[:0], raw, tr)
	if cacheable {
		if resp, rcode, ok := h.answers.lookup(snap, key, raw, nameLen, dst); ok {
			h.metrics.observe(tr, qtype, rcode, time.Since(start))
			return resp, nil
		}
	}
	req := new(dns.Msg)
	if err := req.Unpack(raw); err != nil {
		return h.formErr(raw, start, tr), nil
	}
	if req.Response {
		// Never answer answers: that is how reflection loops start.
		h.metrics.dropped.Inc()
		return nil, nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Compress = true
	m.RecursionAvailable = true
	size, ok := h.edns(req, m)
	switch {
	case !ok:
		// BADVERS set in edns
	case req.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1 || len(req.Answer) > 0 || len(req.Ns) > 0:
		m.Rcode = dns.RcodeFormatError
	case req.Question[0].Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeNotImplemented
	case req.Question[0].Qtype == dns.TypeAXFR || req.Question[0].Qtype == dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused
	default:
		q := req.Question[0]
		r := snap.Answer(q)
		if r.Forward {
			if q.Qtype == dns.TypeANY {
				r = Result{Answer: []dns.RR{&dns.HINFO{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: 3600}, Cpu: "RFC8482"}}}
			} else {
				return nil, func() []byte {
					fctx, cancel := context.WithTimeout(ctx, h.timeout)
					defer cancel()
					up, err := h.up.Resolve(fctx, q)
					if err != nil || up == nil {
						m.Rcode = dns.RcodeServerFailure
					} else {
						m.Rcode = up.Rcode
						m.Answer, m.Ns, m.Extra = up.Answer, up.Ns, append(withoutOPT(up.Extra), m.Extra...)
					}
					return h.finish(m, q, size, start, tr)
				}
			}
		}
		m.Rcode, m.Authoritative = r.Rcode, r.Authoritative
		m.Answer, m.Ns, m.Extra = r.Answer, r.Ns, append(r.Extra, m.Extra...)
		out := h.finish(m, q, size, start, tr)
		// The snapshot's answer: the same bytes for the same question
		// until it changes. Only an answer that names a service or says
		// there is none is kept (not a failure).
		if cacheable && !r.Forward && out != nil && (m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError) {
			h.answers.store(snap, key, out, m.Rcode)
		}
		return out, nil
	}
	var q dns.Question
	if len(req.Question) > 0 {
		q = req.Question[0]
	}
	return h.finish(m, q, size, start, tr), nil
}

func (h *handler) snapshot() *Snapshot { return h.snap.Load() }

// edns adds our OPT to m when the query had one, and returns the UDP size
// the client accepts; ok is false for EDNS versions we do not speak.
func (h *handler) edns(req, m *dns.Msg) (size int, ok bool) {
	opt := req.IsEdns0()
	if opt == nil {
		return dns.MinMsgSize, true
	}
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(maxUDPSize)
	m.Extra = append(m.Extra, o)
	if opt.Version() != 0 {
		o.SetExtendedRcode(dns.RcodeBadVers)
		m.Rcode = dns.RcodeBadVers
		return dns.MinMsgSize, false
	}
	if opt.Do() {
		o.SetDo()
	}
	return max(dns.MinMsgSize, min(int(opt.UDPSize()), maxUDPSize)), true
}

// finish packs m, truncating it to size over UDP, and records metrics.
func (h *handler) finish(m *dns.Msg, q dns.Question, size int, start time.Time, tr transport) []byte {
	if tr == udp {
		m.Truncate(size)
	}
	out, err := m.Pack()
	if err != nil {
		// A record we cannot pack (e.g. from upstream): fail, but answer.
		m.Answer, m.Ns, m.Extra = nil, nil, withOPTOnly(m.Extra)
		m.Rcode = dns.RcodeServerFailure
		if out, err = m.Pack(); err != nil {
			h.metrics.dropped.Inc()
			return nil
		}
	}
	h.metrics.observe(tr, q.Qtype, m.Rcode, time.Since(start))
	return out
}

// formErr answers a query that does not parse with FORMERR, echoing its
// ID and opcode; a header that is itself nonsense is dropped.
func (h *handler) formErr(raw []byte, start time.Time, tr transport) []byte {
	var hdr dns.Msg
	hdr.Id = uint16(raw[0])<<8 | uint16(raw[1])
	if raw[2]&0x80 != 0 {
		h.metrics.dropped.Inc()
		return nil
	}
	hdr.Opcode = int(raw[2]>>3) & 0xf
	hdr.Response = true
	hdr.Rcode = dns.RcodeFormatError
	out, err := hdr.Pack()
	if err != nil {
		h.metrics.dropped.Inc()
		return nil
	}
	h.metrics.observe(tr, 0, dns.RcodeFormatError, time.Since(start))
	return out
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

func withOPTOnly(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}
