package announce

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

var (
	nodeMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0c}
	clientIP  = netip.MustParseAddr("10.99.0.100")
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A request as a Linux host sends it (who has 10.99.0.200? tell
// 10.99.0.100), padded to 60 bytes as on the wire.
const requestHex = "ffffffffffff" + "02000000000c" + "0806" +
	"0001" + "0800" + "06" + "04" + "0001" +
	"02000000000c" + "0a630064" + "000000000000" + "0a6300c8" +
	"000000000000000000000000000000000000"

func TestParseARP(t *testing.T) {
	req := mustHex(t, requestHex)
	for _, tc := range []struct {
		name    string
		frame   []byte
		want    arpPacket
		wantErr bool
	}{
		{"a padded request", req, arpPacket{Op: arpOpRequest, SenderMAC: clientMAC, SenderIP: clientIP,
			TargetMAC: net.HardwareAddr{0, 0, 0, 0, 0, 0}, TargetIP: addr4}, false},
		{"unpadded", req[:42], arpPacket{Op: arpOpRequest, SenderMAC: clientMAC, SenderIP: clientIP,
			TargetMAC: net.HardwareAddr{0, 0, 0, 0, 0, 0}, TargetIP: addr4}, false},
		{"truncated", req[:41], arpPacket{}, true},
		{"empty", nil, arpPacket{}, true},
		{"IPv4, not ARP", withByte(req, 13, 0x00), arpPacket{}, true},
		{"not Ethernet hardware", withByte(req, 15, 6), arpPacket{}, true},
		{"not for IPv4", withByte(req, 17, 0xdd), arpPacket{}, true},
		{"odd address lengths", withByte(req, 19, 16), arpPacket{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseARP(tc.frame)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !samePacket(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func withByte(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

func samePacket(a, b arpPacket) bool {
	return a.Op == b.Op && bytes.Equal(a.SenderMAC, b.SenderMAC) && a.SenderIP == b.SenderIP &&
		bytes.Equal(a.TargetMAC, b.TargetMAC) && a.TargetIP == b.TargetIP
}

func TestARPAnswer(t *testing.T) {
	owns := func(a netip.Addr) bool { return a == addr4 }
	req := arpPacket{Op: arpOpRequest, SenderMAC: clientMAC, SenderIP: clientIP, TargetMAC: make(net.HardwareAddr, 6), TargetIP: addr4}
	other := req
	other.TargetIP = netip.MustParseAddr("10.99.0.201")
	reply := req
	reply.Op = arpOpReply
	gratuitous := req
	gratuitous.SenderIP = addr4
	own := req
	own.SenderMAC = nodeMAC
	for _, tc := range []struct {
		name string
		req  arpPacket
		ok   bool
	}{
		{"a request for an announced address", req, true},
		{"another address", other, false},
		{"a reply", reply, false},
		{"another node's gratuitous ARP", gratuitous, false},
		{"the node's own request", own, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := arpAnswer(tc.req, nodeMAC, owns)
			if ok != tc.ok {
				t.Fatalf("answered %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			want := arpPacket{Op: arpOpReply, SenderMAC: nodeMAC, SenderIP: addr4, TargetMAC: clientMAC, TargetIP: clientIP}
			if !samePacket(got, want) {
				t.Errorf("reply %+v, want %+v", got, want)
			}
			// On the wire: to the asker, from the node, and it reads back.
			f := got.frame(tc.req.SenderMAC)
			wantHex := "02000000000c" + "02000000000b" + "0806" + "0001" + "0800" + "06" + "04" + "0002" +
				"02000000000b" + "0a6300c8" + "02000000000c" + "0a630064" + "000000000000000000000000000000000000"
			if hex.EncodeToString(f) != wantHex {
				t.Errorf("frame\n%x\nwant\n%s", f, wantHex)
			}
			if back, err := parseARP(f); err != nil || !samePacket(back, want) {
				t.Errorf("the frame reads back as %+v, %v", back, err)
			}
		})
	}
}

func TestGratuitousARP(t *testing.T) {
	frames := gratuitousARP(addr4, nodeMAC)
	if len(frames) != 2 {
		t.Fatalf("%d frames, want a request and a reply", len(frames))
	}
	for i, op := range []uint16{arpOpRequest, arpOpReply} {
		if !bytes.Equal(frames[i][0:6], broadcastMAC) || !bytes.Equal(frames[i][6:12], nodeMAC) {
			t.Errorf("frame %d: from %x to %x, want broadcast from the node", i, frames[i][6:12], frames[i][0:6])
		}
		p, err := parseARP(frames[i])
		if err != nil {
			t.Fatal(err)
		}
		want := arpPacket{Op: op, SenderMAC: nodeMAC, SenderIP: addr4, TargetMAC: broadcastMAC, TargetIP: addr4}
		if !samePacket(p, want) {
			t.Errorf("frame %d = %+v, want %+v", i, p, want)
		}
		// Not answered by another announcer.
		if _, ok := arpAnswer(p, clientMAC, func(netip.Addr) bool { return true }); ok {
			t.Errorf("frame %d would be answered", i)
		}
	}
}

// FuzzParseARP: any frame is parsed or refused, never a panic, and what
// parses is built back the same.
func FuzzParseARP(f *testing.F) {
	f.Add(mustHex(f, requestHex))
	f.Add(gratuitousARP(addr4, nodeMAC)[1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := parseARP(frame)
		if err != nil {
			return
		}
		again, err := parseARP(p.frame(net.HardwareAddr(frame[0:6])))
		if err != nil || !samePacket(again, p) {
			t.Errorf("%+v built and read back as %+v, %v", p, again, err)
		}
	})
}
