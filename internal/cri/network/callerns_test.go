package network

import (
	"context"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// With no HostNetNS, the node is the namespace of the thread that calls New
// (a process started inside a node's namespace, or a locked thread in it).
func TestManagerInCallersNamespace(t *testing.T) {
	n := newTestNode(t, func(o *Options) { o.PodCIDR = "" })
	node, err := netns.GetFromPath(n.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	sbPath := newNetNS(t, n.dir, "inside")
	sb := SandboxNet{ID: "inside", NetNS: sbPath}

	done := make(chan error, 1)
	var res Result
	go func() {
		// This thread is left in the node's namespace and discarded.
		runtime.LockOSThread()
		if err := netns.Set(node); err != nil {
			done <- err
			return
		}
		m, err := New(Options{StateDir: t.TempDir(), PodCIDR: "10.42.5.0/24", Bridge: "podbr0"})
		if err != nil {
			done <- err
			return
		}
		defer m.Close()
		if res, err = m.Setup(context.Background(), sb); err != nil {
			done <- err
			return
		}
		done <- m.Teardown(context.Background(), sb)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.Gateway.String() != "10.42.5.1" {
		t.Errorf("Result %+v", res)
	}
	if _, err := nlAt(t, n.ns).LinkByName("podbr0"); err != nil {
		t.Errorf("bridge not in the node's namespace: %v", err)
	}
	if _, err := netlink.LinkByName("podbr0"); err == nil {
		t.Error("bridge made in the test process's namespace")
	}
	if rules := nftList(t, n.ns); rules == "" {
		t.Error("no kemudi table in the node's namespace")
	}
}
