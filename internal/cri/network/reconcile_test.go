package network

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestReconcileAfterCrash(t *testing.T) {
	n := newTestNode(t, nil)
	ctx := context.Background()
	keep, keepRes := n.sandbox(t, "keep", PortMapping{ContainerPort: 80, HostPort: 8080})
	dead := SandboxNet{ID: "dead", NetNS: newNetNS(t, n.dir, "dead"), PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 9090}}}
	deadRes, err := n.mgr.Setup(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	// A record torn by a machine crash.
	torn := SandboxNet{ID: "torn", NetNS: newNetNS(t, n.dir, "torn")}
	tornRes, err := n.mgr.Setup(ctx, torn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.mgr.records.path("torn"), []byte(`{"id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a Setup: the address is reserved, nothing
	// else happened yet.
	alloc, err := n.mgr.allocator(mustCIDR(t, "10.42.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	halfIP, err := alloc.Allocate("half")
	if err != nil {
		t.Fatal(err)
	}

	// A crash between creating a veth and recording it; and links that are
	// not kemudi's, which must stay.
	node := nlAt(t, n.ns)
	br, err := node.LinkByName(DefaultBridge)
	if err != nil {
		t.Fatal(err)
	}
	other := netlink.NewLinkAttrs()
	other.Name = "otherbr"
	if err := node.LinkAdd(&netlink.Bridge{LinkAttrs: other}); err != nil {
		t.Fatal(err)
	}
	otherBr, err := node.LinkByName("otherbr")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct {
		name   string
		master int
	}{{vethName("stray"), br.Attrs().Index}, {"vethnotours", br.Attrs().Index}, {vethName("elsewhere"), otherBr.Attrs().Index}, {vethName("unattached"), 0}} {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = l.name
		v := netlink.NewVeth(attrs)
		v.PeerName = l.name[:10] + "p"
		if err := node.LinkAdd(v); err != nil {
			t.Fatal(err)
		}
		if l.master != 0 {
			if err := node.LinkSetMasterByIndex(v, l.master); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The runtime restarts: a new Manager on the same state and node.
	n.mgr.Close()
	n.mgr = n.newManager(t, Options{StateDir: n.state, PodCIDR: "10.42.0.0/24", HostNetNS: n.ns})
	if err := n.mgr.Reconcile(ctx, []string{"keep"}); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	n.assertNoTrace(t, "dead", deadRes.IPs[0])
	n.assertNoTrace(t, "half", halfIP)
	n.assertNoTrace(t, "torn", tornRes.IPs[0])
	for name, want := range map[string]bool{vethName("stray"): false, "vethnotours": true, vethName("elsewhere"): true, vethName("unattached"): false} {
		if _, err := node.LinkByName(name); (err == nil) != want {
			t.Errorf("after Reconcile, %s exists = %v, want %v", name, err == nil, want)
		}
	}

	// The live sandbox is untouched: address, reachability, hostPort.
	if err := ping(t, keep.NetNS, "10.42.0.1"); err != nil {
		t.Error(err)
	}
	if rules := nftList(t, n.ns); !strings.Contains(rules, "sandbox keep") {
		t.Errorf("rules of the live sandbox gone:\n%s", rules)
	}
	owners, _ := alloc.Owners()
	if owners[keepRes.IPs[0].String()] != "keep" {
		t.Errorf("reservations after reconcile: %v, want %s kept for keep", owners, keepRes.IPs[0])
	}
	// Freed addresses serve new sandboxes; the live one's is never reused.
	for _, id := range []string{"n1", "n2", "n3"} {
		_, res := n.sandbox(t, id)
		if res.IPs[0].Equal(keepRes.IPs[0]) {
			t.Fatalf("%s got %s, the live sandbox's address", id, res.IPs[0])
		}
	}
}

func TestSetupFailureLeavesNothing(t *testing.T) {
	n := newTestNode(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		sb   SandboxNet
	}{
		{"namespace does not exist", SandboxNet{ID: "nons", NetNS: "/nonexistent/netns"}},
		{"unknown protocol", SandboxNet{ID: "badproto", NetNS: newNetNS(t, n.dir, "badproto"), PortMappings: []PortMapping{{Protocol: "icmp", ContainerPort: 1, HostPort: 1}}}},
		{"port out of range", SandboxNet{ID: "badport", NetNS: newNetNS(t, n.dir, "badport"), PortMappings: []PortMapping{{ContainerPort: 70000, HostPort: 80}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := n.mgr.Setup(ctx, c.sb); err == nil {
				t.Fatal("Setup succeeded")
			}
			owners, err := n.mgr.allocs["10.42.0.0/24"].Owners()
			if err != nil {
				t.Fatal(err)
			}
			for ip, owner := range owners {
				if owner == c.sb.ID {
					t.Errorf("%s still reserved for %s", ip, owner)
				}
			}
			n.assertNoTrace(t, c.sb.ID, net.IPv4(10, 42, 0, 254))
		})
	}
	for _, sb := range []SandboxNet{{ID: "", NetNS: "/x"}, {ID: "../x", NetNS: "/x"}, {ID: "nonetns"}} {
		if _, err := n.mgr.Setup(ctx, sb); err == nil {
			t.Errorf("Setup(%+v) succeeded", sb)
		}
	}
}

func TestStatusAndPodCIDR(t *testing.T) {
	n := newTestNode(t, func(o *Options) { o.PodCIDR = "" })
	ctx := context.Background()
	if err := n.mgr.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Status without a pod CIDR = %v, want ErrNotReady", err)
	}
	sb := SandboxNet{ID: "early", NetNS: newNetNS(t, n.dir, "early")}
	if _, err := n.mgr.Setup(ctx, sb); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Setup without a pod CIDR = %v, want ErrNotReady", err)
	}
	for _, bad := range []string{"nope", "10.42.0.0/31", "fd00::/127", "10.42.0.0/24,nope", "10.42.0.0/24,10.43.0.0/24"} {
		if err := n.mgr.SetPodCIDR(bad); err == nil {
			t.Errorf("SetPodCIDR(%q) succeeded", bad)
		}
	}
	if err := n.mgr.SetPodCIDR("10.42.7.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := n.mgr.Status(); err != nil {
		t.Fatalf("Status = %v", err)
	}
	res, err := n.mgr.Setup(ctx, sb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.mgr.Teardown(ctx, sb) })
	if !mustCIDR(t, "10.42.7.0/24").Contains(res.IPs[0]) || res.Gateway.String() != "10.42.7.1" {
		t.Fatalf("Result %+v not in the new pod CIDR", res)
	}
	if err := ping(t, sb.NetNS, "10.42.7.1"); err != nil {
		t.Error(err)
	}
}

func TestTableRecreatedWhenDeleted(t *testing.T) {
	n := newTestNode(t, nil)
	if out, err := exec.Command("nsenter", "--net="+n.ns, "nft", "delete", "table", "ip", TableName).CombinedOutput(); err != nil {
		t.Fatalf("nft delete table: %v: %s", err, out)
	}
	sb, _ := n.sandbox(t, "after", PortMapping{ContainerPort: 80, HostPort: 8080})
	serveTCP(t, sb.NetNS, ":80")
	if _, err := whoAmI(t, n.outside, nodeIP+":8080"); err != nil {
		t.Fatalf("hostPort after the table was deleted: %v", err)
	}
	if rules := nftList(t, n.ns); !strings.Contains(rules, "masquerade") {
		t.Errorf("masquerade rules not restored:\n%s", rules)
	}
}
