package announce

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestAnnouncer: on a node of the test's LAN, the announcer marks its
// Node, answers for the service's addresses (IPv4 and IPv6) once
// elected, says so with a nodeAssigned event, stops answering when its
// node goes NotReady, and takes its mark off when it stops.
func TestAnnouncer(t *testing.T) {
	l := newLAN(t)
	self := node("node-1")
	self.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.99.0.11"}}
	delete(self.Annotations, AnnotationKey)
	svc := lbService("web", addr4.String(), addr6.String())
	client := fake.NewClientset(self, svc, slice("web", "IPv4", "node-1"), slice("web", "IPv6", "node-1"))
	a, err := New(client, Options{NodeName: "node-1", NetNSPath: l.node, Resync: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	ctx0 := context.Background()
	getNode := func() *corev1.Node {
		n, err := client.CoreV1().Nodes().Get(ctx0, "node-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "the node's mark", func() bool { return getNode().Annotations[AnnotationKey] == "true" })
	for _, addr := range []netip.Addr{addr4, addr6} {
		l.waitNeighbour(t, addr, l.nodeIfi.HardwareAddr.String(), true)
	}
	waitFor(t, "a nodeAssigned event on the service", func() bool {
		evs, _ := client.CoreV1().Events("default").List(ctx0, metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Reason == "nodeAssigned" && e.InvolvedObject.Name == "web" && e.Type == corev1.EventTypeNormal &&
				strings.Contains(e.Message, `announcing from node "node-1" with protocol "layer2"`) {
				return true
			}
		}
		return false
	})

	// NotReady: the node no longer answers (the client's entry, deleted,
	// fails to resolve again: its kernel probes for some seconds).
	n := getNode()
	n.Status.Conditions[0].Status = corev1.ConditionFalse
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx0, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the addresses withdrawn", func() bool { return !a.owns(addr4) && !a.owns(addr6) })
	ip(t, "-n", strings.TrimPrefix(l.client, "/var/run/netns/"), "neigh", "del", addr4.String(), "dev", "cli0")
	l.poke(addr4)
	l.waitNeighbour(t, addr4, "", false)

	stop()
	if _, marked := getNode().Annotations[AnnotationKey]; marked {
		t.Error("the node's mark outlived the announcer")
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
