package cloud_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cloud/local"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
)

// TestLocalRoutes: the local provider records every node's pod CIDR
// route through its InternalIP on the Node, the route controller says
// so in NetworkUnavailable, and a node's NodeRoutes puts the routes to
// the nodes on its link into its kernel (a network namespace of the
// test's), leaves out one behind a router, follows a node that moves
// and removes the route of a node that goes.
func TestLocalRoutes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	ns := routeNetns(t)
	s := clustertest.Start(t)
	c := s.Client
	ctx := context.Background()
	// node-a is the one whose kernel we look at; node-b shares its link
	// (10.0.0.0/24); node-c is behind a router.
	for name, n := range map[string]struct{ ip, cidr string }{
		"node-a": {"10.0.0.1", "10.42.0.0/24"}, "node-b": {"10.0.0.2", "10.42.1.0/24"}, "node-c": {"10.1.0.3", "10.42.2.0/24"},
	} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.NodeSpec{PodCIDR: n.cidr, PodCIDRs: []string{n.cidr}}}
		node, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.ip}, {Type: corev1.NodeHostName, Address: name}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cloudtest.Run(t, s.Config, nil, nil)
	r, err := local.NewNodeRoutes(c, local.NodeRoutesOptions{NodeName: "node-a", NetNSPath: "/var/run/netns/" + ns,
		Resync: 300 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node routes: %v", err)
		}
		r.Close()
	})

	for name, want := range map[string]string{
		"node-a": `[{"cidr":"10.42.0.0/24","via":"10.0.0.1"}]`,
		"node-b": `[{"cidr":"10.42.1.0/24","via":"10.0.0.2"}]`,
		"node-c": `[{"cidr":"10.42.2.0/24","via":"10.1.0.3"}]`,
	} {
		controllertest.WaitFor(t, name+"'s route recorded and NetworkUnavailable False", 20*time.Second, func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			cond := condition(n, corev1.NodeNetworkUnavailable)
			return n.Annotations[local.RoutesAnnotation] == want && cond != nil && cond.Status == corev1.ConditionFalse && cond.Reason == "RouteCreated", nil
		})
	}
	routes := func() string {
		out, err := exec.Command("nsenter", "--net=/var/run/netns/"+ns, "ip", "-4", "route", "show", "proto", "107").CombinedOutput()
		if err != nil {
			t.Fatalf("ip route: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	waitRoutes := func(what, want string) {
		t.Helper()
		controllertest.WaitFor(t, what, 20*time.Second, func(context.Context) (bool, error) {
			return routes() == want, nil
		})
	}
	// node-b on the link; node-c off it (traffic to it follows the
	// default route); node-a's own CIDR is its bridge's.
	waitRoutes("the route to node-b's pods", "10.42.1.0/24 via 10.0.0.2 dev eth0")

	// Deleted behind the agent's back: back at the next resync.
	nsRun(t, ns, "ip", "route", "del", "10.42.1.0/24")
	waitRoutes("the route put back", "10.42.1.0/24 via 10.0.0.2 dev eth0")

	// node-b moves to another address on the link.
	p := []byte(`{"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.5"},{"type":"Hostname","address":"node-b"}]}}`)
	if _, err := c.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, p, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	waitRoutes("the route through node-b's new address", "10.42.1.0/24 via 10.0.0.5 dev eth0")

	// node-b goes: so does its route. Routes not kemudi's stay.
	nsRun(t, ns, "ip", "route", "add", "10.42.9.0/24", "via", "10.0.0.9")
	if err := c.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRoutes("node-b's route gone", "")
	if out := nsRun(t, ns, "ip", "-4", "route", "show", "10.42.9.0/24"); !strings.Contains(out, "via 10.0.0.9") {
		t.Errorf("a route not kemudi's was touched: %q", out)
	}
}

// routeNetns makes a network namespace with eth0 at 10.0.0.1/24 (a veth
// whose peer stays inside it, so nothing leaves) and a default route
// through 10.0.0.254.
func routeNetns(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "kemudi-rt-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	nsRun(t, name, "ip", "link", "set", "lo", "up")
	nsRun(t, name, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer")
	nsRun(t, name, "ip", "addr", "add", "10.0.0.1/24", "dev", "eth0")
	nsRun(t, name, "ip", "link", "set", "eth0-peer", "up")
	nsRun(t, name, "ip", "link", "set", "eth0", "up")
	nsRun(t, name, "ip", "route", "add", "default", "via", "10.0.0.254")
	return name
}

func nsRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=/var/run/netns/" + ns, "--"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
