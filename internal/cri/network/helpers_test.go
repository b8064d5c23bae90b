package network

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// Every test here plays "the node" in a network namespace it creates; the
// host's links, routes and nftables are never touched.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}

// newNetNS creates a namespace that is removed when the test ends.
func newNetNS(t *testing.T, dir, name string) string {
	t.Helper()
	path, err := CreateNetNS(dir, name)
	if err != nil {
		t.Fatalf("CreateNetNS: %v", err)
	}
	t.Cleanup(func() {
		if err := RemoveNetNS(path); err != nil {
			t.Errorf("RemoveNetNS: %v", err)
		}
	})
	return path
}

// inNS runs fn on a thread inside the namespace at path.
func inNS(t *testing.T, path string, fn func() error) error {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open netns %s: %v", path, err)
	}
	defer ns.Close()
	return netnsrun.In(ns, fn)
}

func nlAt(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	h, err := netnsrun.Netlink(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Delete)
	return h
}

// testNode is a node namespace with an uplink to an "outside" namespace:
//
//	outside eth0 192.168.77.2/24 fd00:77::2/64 <-> node uplink0 192.168.77.1/24 fd00:77::1/64
//	(the node's default routes through the outside; MTU 1400)
type testNode struct {
	dir     string // where the test's namespaces are mounted
	ns      string // the node
	outside string
	state   string
	mgr     *Manager
}

const (
	nodeIP        = "192.168.77.1"
	outsideIP     = "192.168.77.2"
	nodeIP6       = "fd00:77::1"
	outsideIP6    = "fd00:77::2"
	testUplinkMTU = 1400
)

func newTestNode(t *testing.T, tweak func(*Options)) *testNode {
	t.Helper()
	requireRoot(t)
	n := &testNode{dir: t.TempDir(), state: t.TempDir()}
	n.ns = newNetNS(t, n.dir, "node")
	n.outside = newNetNS(t, n.dir, "outside")
	n.connectOutside(t)
	opts := Options{StateDir: n.state, PodCIDR: "10.42.0.0/24", HostNetNS: n.ns}
	if tweak != nil {
		tweak(&opts)
	}
	n.mgr = n.newManager(t, opts)
	// Closes whichever Manager is current, after every sandbox's cleanup.
	t.Cleanup(func() { n.mgr.Close() })
	return n
}

func (n *testNode) newManager(t *testing.T, opts Options) *Manager {
	t.Helper()
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func (n *testNode) connectOutside(t *testing.T) {
	t.Helper()
	node := nlAt(t, n.ns)
	out := nlAt(t, n.outside)
	outNS, err := netns.GetFromPath(n.outside)
	if err != nil {
		t.Fatal(err)
	}
	defer outNS.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = "uplink0", testUplinkMTU
	v := netlink.NewVeth(attrs)
	v.PeerName, v.PeerNamespace, v.PeerMTU = "eth0", netlink.NsFd(outNS), testUplinkMTU
	if err := node.LinkAdd(v); err != nil {
		t.Fatalf("uplink veth: %v", err)
	}
	configure := func(h *netlink.Handle, name, cidr string) netlink.Link {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := netlink.ParseAddr(cidr)
		if err := h.AddrAdd(l, addr); err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	up := configure(node, "uplink0", nodeIP+"/24")
	configure(out, "eth0", outsideIP+"/24")
	for _, c := range []struct {
		h    *netlink.Handle
		cidr string
	}{{node, nodeIP6 + "/64"}, {out, outsideIP6 + "/64"}} {
		l, err := c.h.LinkByName(map[bool]string{true: "uplink0", false: "eth0"}[c.h == node])
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := netlink.ParseAddr(c.cidr)
		addr.Flags = unix.IFA_F_NODAD
		if err := c.h.AddrAdd(l, addr); err != nil {
			t.Fatal(err)
		}
	}
	for _, gw := range []string{outsideIP, outsideIP6} {
		if err := node.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
			t.Fatalf("node default route via %s: %v", gw, err)
		}
	}
	// Both ends have index 2 in their namespaces, which makes the kernel
	// apply their carrier up to a second late (dropping packets meanwhile):
	// an uplink is older than any pod on a real node.
	for _, c := range []struct {
		h    *netlink.Handle
		name string
	}{{node, "uplink0"}, {out, "eth0"}} {
		if err := waitOperUp(c.h, c.name, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// routeOutsideToPods lets the outside reach pod addresses without NAT.
func (n *testNode) routeOutsideToPods(t *testing.T) {
	t.Helper()
	out := nlAt(t, n.outside)
	eth, err := out.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	_, dst, _ := net.ParseCIDR("10.42.0.0/24")
	if err := out.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: dst, Gw: net.ParseIP(nodeIP)}); err != nil {
		t.Fatal(err)
	}
}

// sandbox creates a sandbox namespace and sets up its network; both are
// undone when the test ends.
func (n *testNode) sandbox(t *testing.T, id string, pms ...PortMapping) (SandboxNet, Result) {
	t.Helper()
	sb := SandboxNet{ID: id, Name: "pod-" + id, Namespace: "default", UID: "uid-" + id, NetNS: newNetNS(t, n.dir, id), PortMappings: pms}
	res, err := n.mgr.Setup(context.Background(), sb)
	if err != nil {
		t.Fatalf("Setup %s: %v", id, err)
	}
	t.Cleanup(func() {
		if err := n.mgr.Teardown(context.Background(), sb); err != nil {
			t.Errorf("Teardown %s: %v", id, err)
		}
	})
	return sb, res
}

// serveTCP listens in the namespace and answers every connection with the
// address the connection came from.
func serveTCP(t *testing.T, nsPath, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	err := inNS(t, nsPath, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintln(c, host)
			c.Close()
		}
	}()
	return l
}

// whoAmI connects from the namespace to addr and returns the source
// address the server saw.
func whoAmI(t *testing.T, nsPath, addr string) (string, error) {
	t.Helper()
	return whoAmIWithin(t, nsPath, addr, 3*time.Second)
}

func whoAmIWithin(t *testing.T, nsPath, addr string, timeout time.Duration) (string, error) {
	t.Helper()
	var line string
	err := inNS(t, nsPath, func() error {
		d := net.Dialer{Timeout: timeout}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}

// ping sends one ICMP echo from the namespace with busybox's ping.
func ping(t *testing.T, nsPath, ip string) error {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox (Debian busybox-static)")
	}
	out, err := exec.Command("nsenter", "--net="+nsPath, busybox, "ping", "-c", "1", "-W", "3", ip).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", ip, filepath.Base(nsPath), err, out)
	}
	return nil
}

// nftList is `nft list table ip kemudi-cri` inside the namespace ("" when
// there is no such table).
func nftList(t *testing.T, nsPath string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+nsPath, "nft", "list", "table", "ip", TableName).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such file") {
			return ""
		}
		t.Fatalf("nft list: %v: %s", err, out)
	}
	return string(out)
}
