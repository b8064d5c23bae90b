package announce

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// lan is two network namespaces the test made, joined by a veth pair:
// the node (eth0, 10.99.0.11, fd99::11) and a client (cli0, 10.99.0.100,
// fd99::100), whose kernel resolves addresses as any LAN host's does.
type lan struct {
	t             *testing.T
	node, client  string // netns paths
	clientNL      *netlink.Handle
	clientLinkIdx int
	nodeIfi       *net.Interface
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	b := make([]byte, 3)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	l := &lan{t: t}
	names := []string{"kemudi-ann-n-" + suffix, "kemudi-ann-c-" + suffix}
	for _, n := range names {
		ip(t, "netns", "add", n)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
	l.node, l.client = "/var/run/netns/"+names[0], "/var/run/netns/"+names[1]
	ip(t, "-n", names[0], "link", "add", "eth0", "type", "veth", "peer", "name", "cli0", "netns", names[1])
	for _, side := range []struct{ ns, dev, v4, v6 string }{
		{names[0], "eth0", "10.99.0.11/24", "fd99::11/64"},
		{names[1], "cli0", "10.99.0.100/24", "fd99::100/64"},
	} {
		ip(t, "-n", side.ns, "link", "set", "lo", "up")
		ip(t, "-n", side.ns, "addr", "add", side.v4, "dev", side.dev)
		ip(t, "-n", side.ns, "addr", "add", side.v6, "dev", side.dev, "nodad")
		ip(t, "-n", side.ns, "link", "set", side.dev, "up")
	}
	nl, err := netnsrun.Netlink(l.node)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	if l.nodeIfi, err = findLink(nl, []netip.Addr{netip.MustParseAddr("10.99.0.11")}); err != nil {
		t.Fatal(err)
	}
	if l.clientNL, err = netnsrun.Netlink(l.client); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.clientNL.Close)
	link, err := l.clientNL.LinkByName("cli0")
	if err != nil {
		t.Fatal(err)
	}
	l.clientLinkIdx = link.Attrs().Index
	return l
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// poke sends the client's datagram to addr: its kernel resolves addr
// first.
func (l *lan) poke(addr netip.Addr) {
	l.t.Helper()
	err := netnsrun.Run(l.client, func() error {
		c, err := net.Dial("udp", netip.AddrPortFrom(addr, 9).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("x"))
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
}

// neighbour is the client's entry for addr: its link address and state.
func (l *lan) neighbour(addr netip.Addr) (string, int) {
	fam := netlink.FAMILY_V4
	if addr.Is6() {
		fam = netlink.FAMILY_V6
	}
	list, err := l.clientNL.NeighList(l.clientLinkIdx, fam)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range list {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == addr {
			return n.HardwareAddr.String(), n.State
		}
	}
	return "", 0
}

// waitNeighbour waits until the client has addr at mac ("": until its
// resolution failed), poking it again and again if poke.
func (l *lan) waitNeighbour(t *testing.T, addr netip.Addr, mac string, poke bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if poke {
			l.poke(addr)
		}
		got, state := l.neighbour(addr)
		resolved := state&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE) != 0
		if (mac != "" && resolved && got == mac) || (mac == "" && state == netlink.NUD_FAILED) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client's neighbour %s: %q state %#x, want %q", addr, got, state, mac)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestResponder: a client on the node's LAN resolves the announced
// addresses, IPv4 by ARP and IPv6 by neighbor solicitation, to the
// node's interface (which does not hold them); an address not announced
// stays unresolved; a gratuitous announcement moves the client's
// existing entry to the node.
func TestResponder(t *testing.T) {
	l := newLAN(t)
	mine := map[netip.Addr]bool{addr4: true, addr6: true}
	r, err := openResponder(l.node, l.nodeIfi, func(a netip.Addr) bool { return mine[a] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if r.ndp == nil {
		t.Fatal("no IPv6 responder")
	}
	if err := r.join(addr6); err != nil {
		t.Fatal(err)
	}
	mac := l.nodeIfi.HardwareAddr.String()
	for _, a := range []netip.Addr{addr4, addr6} {
		t.Run("resolves "+a.String(), func(t *testing.T) { l.waitNeighbour(t, a, mac, true) })
	}
	t.Run("not announced", func(t *testing.T) {
		other := netip.MustParseAddr("10.99.0.201")
		l.poke(other)
		l.waitNeighbour(t, other, "", false)
	})
	for _, a := range []netip.Addr{addr4, addr6} {
		t.Run("gratuitous "+a.String(), func(t *testing.T) {
			fam := "-4"
			if a.Is6() {
				fam = "-6"
			}
			ip(t, "-n", strings.TrimPrefix(l.client, "/var/run/netns/"), fam, "neigh", "replace", a.String(),
				"lladdr", "02:00:00:00:00:99", "dev", "cli0", "nud", "stale")
			if got, _ := l.neighbour(a); got != "02:00:00:00:00:99" {
				t.Fatalf("entry not replaced: %q", got)
			}
			if err := r.gratuitous(a); err != nil {
				t.Fatal(err)
			}
			l.waitNeighbour(t, a, mac, false)
		})
	}
}
