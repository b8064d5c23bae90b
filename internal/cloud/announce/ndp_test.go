package announce

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

// A solicitation as a Linux host sends it for fd99::200 (checksum as the
// kernel wrote it; the parser leaves it to the kernel), with the source
// link-layer address option.
const solicitationHex = "8700" + "1234" + "00000000" + "fd990000000000000000000000000200" +
	"0101" + "02000000000c"

func TestParseNS(t *testing.T) {
	ns := mustHex(t, solicitationHex)
	for _, tc := range []struct {
		name    string
		msg     []byte
		want    neighborSolicitation
		wantErr bool
	}{
		{"with the source's link address", ns, neighborSolicitation{Target: addr6, SourceMAC: clientMAC}, false},
		{"without options (a duplicate address probe)", ns[:24], neighborSolicitation{Target: addr6}, false},
		{"an unknown option is skipped", append(bytes.Clone(ns[:24]), 0x0e, 0x01, 1, 2, 3, 4, 5, 6), neighborSolicitation{Target: addr6}, false},
		{"truncated", ns[:23], neighborSolicitation{}, true},
		{"an advertisement", withByte(ns, 0, icmpNeighborAdvertisement), neighborSolicitation{}, true},
		{"a nonzero code", withByte(ns, 1, 1), neighborSolicitation{}, true},
		{"a multicast target", withByte(ns, 8, 0xff), neighborSolicitation{}, true},
		{"an option of length 0", withByte(ns, 25, 0), neighborSolicitation{}, true},
		{"an option longer than the message", withByte(ns, 25, 2), neighborSolicitation{}, true},
		{"a dangling option byte", append(bytes.Clone(ns), 1), neighborSolicitation{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNS(tc.msg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (got.Target != tc.want.Target || !bytes.Equal(got.SourceMAC, tc.want.SourceMAC)) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNeighborAdvertisement(t *testing.T) {
	for _, tc := range []struct {
		name      string
		solicited bool
		want      string
	}{
		// Type 136, checksum left to the kernel, flags S and O (R unset:
		// not a router), the target, its link-layer address option.
		{"solicited", true, "8800" + "0000" + "60000000" + "fd990000000000000000000000000200" + "0201" + "02000000000b"},
		{"unsolicited (a takeover)", false, "8800" + "0000" + "20000000" + "fd990000000000000000000000000200" + "0201" + "02000000000b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(neighborAdvertisement(addr6, nodeMAC, tc.solicited)); got != tc.want {
				t.Errorf("advertisement\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestSolicitedNode(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"fd99::200", "ff02::1:ff00:200"},
		{"2001:db8::abcd:ef12:3456", "ff02::1:ff12:3456"},
	} {
		if got := solicitedNode(netip.MustParseAddr(tc.addr)); got.String() != tc.want {
			t.Errorf("solicitedNode(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// FuzzParseNS: any message is parsed or refused, never a panic; a
// solicitation's target is never multicast.
func FuzzParseNS(f *testing.F) {
	f.Add(mustHex(f, solicitationHex))
	f.Add(mustHex(f, solicitationHex)[:24])
	f.Add([]byte{135, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		ns, err := parseNS(msg)
		if err != nil {
			return
		}
		if ns.Target.IsMulticast() || !ns.Target.Is6() || (ns.SourceMAC != nil && len(ns.SourceMAC) != 6) {
			t.Errorf("parsed %x as %+v", msg, ns)
		}
	})
}
