package dns

import (
	"bytes"
	"context"
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandle feeds arbitrary bytes to the request handler over both
// transports: it must never panic, and whatever it answers must be a DNS
// response that echoes the query's ID and, over UDP, fits the client's
// buffer. Asked the same again, it must answer the same bytes (the
// second time perhaps from its answer cache). Seeds are in
// testdata/fuzz/FuzzHandle.
func FuzzHandle(f *testing.F) {
	h := newTestHandler(testSnapshot())
	big := newTestHandler(bigHeadless(60))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, hh := range []*handler{h, big} {
			for _, tr := range []transport{udp, tcp} {
				ask := func() []byte {
					out, later := hh.handle(context.Background(), raw, tr, make([]byte, 0, maxUDPSize))
					if later != nil {
						out = later()
					}
					return out
				}
				hh.answers.cur.Store(nil)
				out := ask()
				if again := ask(); !bytes.Equal(again, out) {
					t.Fatalf("asked again over %s:\n%x\nthe first time:\n%x", tr, again, out)
				}
				if out == nil {
					continue
				}
				if len(raw) < 2 {
					t.Fatalf("answered a %d-byte query", len(raw))
				}
				m := new(dns.Msg)
				if err := m.Unpack(out); err != nil {
					t.Fatalf("answer does not unpack: %v", err)
				}
				if !m.Response || m.Id != uint16(raw[0])<<8|uint16(raw[1]) {
					t.Fatalf("answer is no response to the query: %v", m)
				}
				if tr == udp && len(out) > maxUDPSize {
					t.Fatalf("UDP answer of %d bytes", len(out))
				}
			}
		}
	})
}
