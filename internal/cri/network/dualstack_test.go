package network

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestDualStack(t *testing.T) {
	n := newTestNode(t, func(o *Options) {
		o.PodCIDR = "10.42.0.0/24,fd00:42::/64"
		o.ClusterCIDRs = []string{"10.42.0.0/16", "10.43.0.0/16", "fd00:42::/56", "fd00:43::/112"}
	})
	web, webRes := n.sandbox(t, "web", PortMapping{ContainerPort: 80, HostPort: 8080})
	other, otherRes := n.sandbox(t, "other")
	for _, r := range []Result{webRes, otherRes} {
		if len(r.IPs) != 2 || r.IPs[0].To4() == nil || r.IPs[1].To4() != nil || !mustCIDR(t, "fd00:42::/64").Contains(r.IPs[1]) {
			t.Fatalf("Result IPs = %v, want an IPv4 then an IPv6 address of fd00:42::/64", r.IPs)
		}
		if r.Gateway.String() != "10.42.0.1" {
			t.Errorf("Gateway = %s, want the IPv4 one", r.Gateway)
		}
	}
	serveTCP(t, web.NetNS, ":80")
	outside := serveTCP(t, n.outside, "["+outsideIP6+"]:0")
	_, outsidePort, _ := net.SplitHostPort(outside.Addr().String())
	webIP6 := webRes.IPs[1].String()

	// Connections right after Setup, within a second of the node's start:
	// the first packets must not wait for, or be lost to, the kernel
	// finishing IPv6 configuration (a lost neighbor advertisement or a
	// tentative link-local address cost a second).
	for _, c := range []struct {
		name, from, to, wantSource string
		within                     time.Duration // 0: 3s
	}{
		{"pod to pod over IPv6", other.NetNS, net.JoinHostPort(webIP6, "80"), otherRes.IPs[1].String(), 700 * time.Millisecond},
		{"leaving the cluster over IPv6 is masqueraded", other.NetNS, net.JoinHostPort(outsideIP6, outsidePort), nodeIP6, 0},
		// The node is a second old: its bridge's link-local address must be
		// usable (not tentative) for the forwarded traffic's neighbor
		// solicitations.
		{"IPv6 hostPort from outside keeps the client's address", n.outside, net.JoinHostPort(nodeIP6, "8080"), outsideIP6, 700 * time.Millisecond},
		{"IPv6 hostPort hairpin", web.NetNS, net.JoinHostPort(nodeIP6, "8080"), "fd00:42::1", 0},
		{"IPv4 still works beside it", n.outside, net.JoinHostPort(nodeIP, "8080"), outsideIP, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			within := c.within
			if within == 0 {
				within = 3 * time.Second
			}
			got, err := whoAmIWithin(t, c.from, c.to, within)
			if err != nil {
				t.Fatalf("connect to %s: %v", c.to, err)
			}
			if c.wantSource != "" && got != c.wantSource {
				t.Errorf("server saw %s, want %s", got, c.wantSource)
			}
		})
	}
	if err := ping(t, other.NetNS, "fd00:42::1"); err != nil {
		t.Error(err)
	}

	if err := n.mgr.Teardown(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	n.assertNoTrace(t, "web", webRes.IPs[0])
	owners, err := n.mgr.allocs["fd00:42::/64"].Owners()
	if err != nil {
		t.Fatal(err)
	}
	if owner, ok := owners[webIP6]; ok {
		t.Errorf("%s still reserved by %s", webIP6, owner)
	}
}
