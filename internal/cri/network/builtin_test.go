package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func TestPodsReachEachOtherAndTheGateway(t *testing.T) {
	n := newTestNode(t, nil)
	sbA, a := n.sandbox(t, "a")
	sbB, b := n.sandbox(t, "b")

	_, podCIDR, _ := net.ParseCIDR("10.42.0.0/24")
	for _, r := range []Result{a, b} {
		if len(r.IPs) != 1 || !podCIDR.Contains(r.IPs[0]) || r.Gateway.String() != "10.42.0.1" || r.Interface != "eth0" {
			t.Fatalf("Result = %+v, want one address in %s, gateway 10.42.0.1, eth0", r, podCIDR)
		}
	}
	if a.IPs[0].Equal(b.IPs[0]) {
		t.Fatalf("both sandboxes got %s", a.IPs[0])
	}
	for _, c := range []struct {
		from SandboxNet
		to   string
	}{
		{sbA, b.IPs[0].String()},
		{sbB, a.IPs[0].String()},
		{sbA, "10.42.0.1"},
		{sbB, "10.42.0.1"},
	} {
		if err := ping(t, c.from.NetNS, c.to); err != nil {
			t.Error(err)
		}
	}

	// The pod end takes the uplink's MTU; the host end is on the bridge
	// with hairpin on.
	pod := nlAt(t, sbA.NetNS)
	eth, err := pod.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth.Attrs().MTU != testUplinkMTU {
		t.Errorf("eth0 MTU = %d, want the uplink's %d", eth.Attrs().MTU, testUplinkMTU)
	}
	node := nlAt(t, n.ns)
	host, err := node.LinkByName(vethName("a"))
	if err != nil {
		t.Fatalf("host end: %v", err)
	}
	br, err := node.LinkByName(DefaultBridge)
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	if host.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("%s is not on %s", host.Attrs().Name, DefaultBridge)
	}
	if pi, err := node.LinkGetProtinfo(host); err != nil || !pi.Hairpin {
		t.Errorf("hairpin is off on %s (protinfo %+v, %v)", host.Attrs().Name, pi, err)
	}

	stats, err := NetStats(sbA.NetNS)
	if err != nil {
		t.Fatal(err)
	}
	var ethStats *InterfaceStats
	for i := range stats {
		if stats[i].Name == "eth0" {
			ethStats = &stats[i]
		}
	}
	if ethStats == nil || ethStats.RxBytes == 0 || ethStats.TxBytes == 0 {
		t.Errorf("NetStats eth0 = %+v, want traffic counted after the pings", ethStats)
	}
	if err := n.mgr.Check(context.Background(), sbA); err != nil {
		t.Errorf("Check: %v", err)
	}

	// Forwarding is on in the node's namespace (set there, not on the host).
	var forward []byte
	if err := inNS(t, n.ns, func() (err error) { forward, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward"); return err }); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(forward)) != "1" {
		t.Errorf("ip_forward in the node's namespace = %q, want 1", forward)
	}

	// Nothing of this is on the host running the test.
	if _, err := netlink.LinkByName(DefaultBridge); err == nil {
		t.Errorf("%s exists in the test process's own namespace", DefaultBridge)
	}
}

func TestMasquerade(t *testing.T) {
	for _, c := range []struct {
		name         string
		clusterCIDRs []string
		wantSource   func(pod string) string
	}{
		{"leaving the cluster is masqueraded to the node's address", nil, func(string) string { return nodeIP }},
		{"to a cluster CIDR keeps the pod's address", []string{"10.42.0.0/16", "192.168.77.0/24"}, func(pod string) string { return pod }},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newTestNode(t, func(o *Options) { o.ClusterCIDRs = c.clusterCIDRs })
			n.routeOutsideToPods(t)
			l := serveTCP(t, n.outside, outsideIP+":0")
			sb, res := n.sandbox(t, "p")
			got, err := whoAmI(t, sb.NetNS, l.Addr().String())
			if err != nil {
				t.Fatalf("connect from pod to outside: %v", err)
			}
			if want := c.wantSource(res.IPs[0].String()); got != want {
				t.Errorf("outside saw the pod as %s, want %s", got, want)
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	n := newTestNode(t, nil)
	web, webRes := n.sandbox(t, "web",
		PortMapping{Protocol: "tcp", ContainerPort: 80, HostPort: 8080},
		PortMapping{Protocol: "tcp", ContainerPort: 80, HostPort: 8081, HostIP: nodeIP},
		PortMapping{Protocol: "tcp", ContainerPort: 80, HostPort: 8082, HostIP: "10.42.0.1"},
	)
	other, otherRes := n.sandbox(t, "other")
	serveTCP(t, web.NetNS, ":80")
	gw := "10.42.0.1"

	for _, c := range []struct {
		name, from, to string
		wantSource     string // "" = any
		wantErr        bool
	}{
		{"from outside, the client's address is kept", n.outside, nodeIP + ":8080", outsideIP, false},
		{"from outside to the host IP it is bound to", n.outside, nodeIP + ":8081", outsideIP, false},
		{"bound to another host IP: not from outside", n.outside, nodeIP + ":8082", "", true},
		{"from the node itself", n.ns, nodeIP + ":8080", "", false},
		{"from another pod", other.NetNS, nodeIP + ":8080", gw, false},
		{"hairpin: the pod reaches itself", web.NetNS, nodeIP + ":8080", gw, false},
		{"another pod through the gateway address", other.NetNS, gw + ":8080", gw, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := whoAmI(t, c.from, c.to)
			if c.wantErr {
				if err == nil {
					t.Fatalf("connected to %s, want refused", c.to)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect to %s: %v", c.to, err)
			}
			if c.wantSource != "" && got != c.wantSource {
				t.Errorf("server saw %s, want %s", got, c.wantSource)
			}
		})
	}
	_ = webRes
	_ = otherRes
}

func TestTeardownLeavesNothing(t *testing.T) {
	n := newTestNode(t, nil)
	ctx := context.Background()
	sb := SandboxNet{ID: "gone", NetNS: newNetNS(t, n.dir, "gone"), PortMappings: []PortMapping{{Protocol: "udp", ContainerPort: 53, HostPort: 5353}}}
	res, err := n.mgr.Setup(ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(nftList(t, n.ns), "sandbox gone") {
		t.Fatalf("no hostPort rule for the sandbox:\n%s", nftList(t, n.ns))
	}
	for i, step := range []func() error{
		func() error { return n.mgr.Teardown(ctx, sb) },
		func() error { return n.mgr.Teardown(ctx, sb) }, // idempotent
		func() error { RemoveNetNS(sb.NetNS); return n.mgr.Teardown(ctx, sb) },
	} {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		n.assertNoTrace(t, "gone", res.IPs[0])
	}
}

// assertNoTrace checks the node holds nothing of the sandbox.
func (n *testNode) assertNoTrace(t *testing.T, id string, ip net.IP) {
	t.Helper()
	node := nlAt(t, n.ns)
	if _, err := node.LinkByName(vethName(id)); err == nil {
		t.Errorf("veth %s of %s still exists", vethName(id), id)
	}
	if rules := nftList(t, n.ns); strings.Contains(rules, "sandbox "+id) {
		t.Errorf("rules of %s left:\n%s", id, rules)
	}
	a, err := newAllocator(n.state, mustCIDR(t, "10.42.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	owners, err := a.Owners()
	if err != nil {
		t.Fatal(err)
	}
	if owner, ok := owners[ip.String()]; ok {
		t.Errorf("%s still reserved by %s", ip, owner)
	}
	if _, err := os.Stat(n.mgr.records.path(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record of %s left (%v)", id, err)
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	n, err := parsePodCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A pod's first packets right after Setup get through: the kernel applies
// a new link's carrier asynchronously and drops packets until it has, which
// cost a pod's first connection a SYN retransmission (one second).
func TestFirstConnectionAfterSetup(t *testing.T) {
	n := newTestNode(t, nil)
	l := serveTCP(t, n.ns, nodeIP+":0")
	for i := range 5 {
		sb, res := n.sandbox(t, fmt.Sprintf("s%d", i))
		// Less than the first SYN retransmission (1s), with margin for a
		// busy machine.
		got, err := whoAmIWithin(t, sb.NetNS, l.Addr().String(), 700*time.Millisecond)
		if err != nil {
			t.Fatalf("sandbox %d: first connection: %v", i, err)
		}
		if got != res.IPs[0].String() {
			t.Errorf("node saw %s, want the pod's %s", got, res.IPs[0])
		}
	}
}

func TestHostPortUDP(t *testing.T) {
	n := newTestNode(t, nil)
	sb, _ := n.sandbox(t, "dns", PortMapping{Protocol: "udp", ContainerPort: 53, HostPort: 5353})
	var pc net.PacketConn
	if err := inNS(t, sb.NetNS, func() (err error) { pc, err = net.ListenPacket("udp4", ":53"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("echo "), buf[:k]...), from)
		}
	}()
	var reply string
	err := inNS(t, n.outside, func() error {
		c, err := net.Dial("udp4", nodeIP+":5353")
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			return err
		}
		buf := make([]byte, 512)
		k, err := c.Read(buf)
		reply = string(buf[:k])
		return err
	})
	if err != nil || reply != "echo hello" {
		t.Fatalf("UDP through hostPort 5353: %q, %v", reply, err)
	}
}

// A retried Setup (the CRI layer after an error, or a restart) keeps the
// address and leaves one working interface.
func TestSetupTwice(t *testing.T) {
	n := newTestNode(t, nil)
	sb, first := n.sandbox(t, "again", PortMapping{ContainerPort: 80, HostPort: 8080})
	second, err := n.mgr.Setup(context.Background(), sb)
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if !second.IPs[0].Equal(first.IPs[0]) {
		t.Errorf("second Setup gave %s, first %s", second.IPs[0], first.IPs[0])
	}
	if err := ping(t, sb.NetNS, "10.42.0.1"); err != nil {
		t.Error(err)
	}
	if rules := nftList(t, n.ns); strings.Count(rules, "sandbox again") != 1 {
		t.Errorf("want one hostPort rule for the sandbox:\n%s", rules)
	}
}

func TestHostPortConflict(t *testing.T) {
	n := newTestNode(t, nil)
	ctx := context.Background()
	first, _ := n.sandbox(t, "first", PortMapping{ContainerPort: 80, HostPort: 8080}, PortMapping{ContainerPort: 80, HostPort: 9090, HostIP: nodeIP})
	serveTCP(t, first.NetNS, ":80")
	for _, c := range []struct {
		name     string
		pm       PortMapping
		conflict bool
	}{
		{"same port", PortMapping{ContainerPort: 81, HostPort: 8080}, true},
		{"same port, one host IP", PortMapping{ContainerPort: 81, HostPort: 8080, HostIP: nodeIP}, true},
		{"same port, all host IPs against one", PortMapping{ContainerPort: 81, HostPort: 9090}, true},
		{"same port, another host IP", PortMapping{ContainerPort: 81, HostPort: 9090, HostIP: "10.42.0.1"}, false},
		{"same port, another protocol", PortMapping{Protocol: "udp", ContainerPort: 81, HostPort: 8080}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := SandboxNet{ID: "second", NetNS: newNetNS(t, n.dir, "second"), PortMappings: []PortMapping{c.pm}}
			_, err := n.mgr.Setup(ctx, sb)
			t.Cleanup(func() { n.mgr.Teardown(ctx, sb) })
			if c.conflict {
				if err == nil || !strings.Contains(err.Error(), "already used by sandbox first") {
					t.Fatalf("Setup = %v, want a conflict with sandbox first", err)
				}
			} else if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if _, err := whoAmI(t, n.outside, nodeIP+":8080"); err != nil {
				t.Errorf("first sandbox's host port after the second's Setup: %v", err)
			}
		})
	}
}
