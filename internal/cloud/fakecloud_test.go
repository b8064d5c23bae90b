package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cloud/fakecloud"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

func condition(n *corev1.Node, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == typ {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// TestAnotherProviderPlugsIn runs the same controllers on a fake cloud
// behind the same Interface: its load balancers, its instances' metadata,
// its routes, and nodes whose instances shut down or go.
func TestAnotherProviderPlugsIn(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 3})
	fake := fakecloud.New()
	for i, name := range nodes.Names() {
		fake.AddInstance(name, fakecloud.Instance{
			Type: "m5.large", Zone: fmt.Sprintf("zone-%c", 'a'+i), Region: "region-1",
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.1.0.%d", i+1)}},
		})
	}
	fake.FailRoutes("node-0002", errors.New("quota exceeded"))
	cloudtest.Run(t, s.Config, fake, nil)
	c := s.Client
	ctx := context.Background()

	// Nodes take the cloud's metadata.
	controllertest.WaitFor(t, "nodes initialized from the fake cloud", 20*time.Second, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return n.Spec.ProviderID == "fake://node-0001" && n.Labels[corev1.LabelTopologyZone] == "zone-b" &&
			n.Labels[corev1.LabelInstanceTypeStable] == "m5.large" && slices.ContainsFunc(n.Status.Addresses, func(a corev1.NodeAddress) bool {
			return a.Address == "10.1.0.2"
		}), nil
	})

	// A load balancer of the cloud, over every node.
	if _, err := c.CoreV1().Services("default").Create(ctx, lbService("web", 80), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ips, _ := ingressOf(t, c, "web"); !slices.Equal(ips, []string{"203.0.113.1"}) {
		t.Errorf("ingress = %v, want the fake cloud's 203.0.113.1", ips)
	}
	if hosts := fake.Hosts("default/web"); !slices.Equal(hosts, nodes.Names()) {
		t.Errorf("load balancer hosts = %v, want %v", hosts, nodes.Names())
	}

	// Routes to the nodes' pod CIDRs, and the NetworkUnavailable
	// condition saying whether they exist.
	for i, name := range nodes.Names() {
		p := fmt.Sprintf(`{"spec":{"podCIDR":"10.42.%d.0/24","podCIDRs":["10.42.%d.0/24"]}}`, i, i)
		if _, err := c.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.WaitFor(t, "routes to node-0000 and node-0001", 20*time.Second, func(context.Context) (bool, error) {
		return slices.Equal(fake.RouteTable(), []string{"node-0000 10.42.0.0/24", "node-0001 10.42.1.0/24"}), nil
	})
	for name, want := range map[string]string{"node-0000": "False/RouteCreated", "node-0002": "True/NoRouteCreated"} {
		controllertest.WaitFor(t, name+"'s NetworkUnavailable "+want, 20*time.Second, func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			cond := condition(n, corev1.NodeNetworkUnavailable)
			return cond != nil && string(cond.Status)+"/"+cond.Reason == want, nil
		})
	}
	waitEvent(t, c, "default", "node-0002", "FailedToCreateRoute: Could not create route 10.42.2.0/24 for node node-0002")
	fake.FailRoutes("node-0002", nil)
	controllertest.WaitFor(t, "the route to node-0002 once the cloud lets it", 20*time.Second, func(context.Context) (bool, error) {
		return slices.Contains(fake.RouteTable(), "node-0002 10.42.2.0/24"), nil
	})

	// A node not ready whose instance is shut down is tainted; started
	// again, the taint goes; its instance gone, the node goes.
	if err := nodes.SetReady("node-0001", false); err != nil {
		t.Fatal(err)
	}
	fake.SetShutdown("node-0001", true)
	hasShutdownTaint := func(want bool) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
				return t.Key == "node.cloudprovider.kubernetes.io/shutdown" && t.Effect == corev1.TaintEffectNoSchedule
			}) == want, nil
		}
	}
	controllertest.WaitFor(t, "the shutdown taint on node-0001", 20*time.Second, hasShutdownTaint(true))
	fake.SetShutdown("node-0001", false)
	controllertest.WaitFor(t, "the shutdown taint off node-0001", 20*time.Second, hasShutdownTaint(false))
	fake.RemoveInstance("node-0001")
	controllertest.WaitFor(t, "node-0001 deleted with its instance", 20*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Nodes().Get(ctx, "node-0001", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	ev := waitEvent(t, c, "default", "node-0001", "DeletingNode")
	if !strings.Contains(ev, "Deleting node node-0001 because it does not exist in the cloud provider") {
		t.Errorf("event = %q", ev)
	}
	// The load balancer follows the node set.
	controllertest.WaitFor(t, "node-0001 to leave the load balancer", 20*time.Second, func(context.Context) (bool, error) {
		return slices.Equal(fake.Hosts("default/web"), []string{"node-0000", "node-0002"}), nil
	})

	// Deleting the service deletes the cloud's load balancer, then the
	// service.
	if err := c.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "web")
	if lbs := fake.LoadBalancers(); len(lbs) != 0 {
		t.Errorf("the cloud still has load balancers %v", lbs)
	}
}
