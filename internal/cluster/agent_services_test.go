package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestClusterDNSService: every server has kube-system/kube-dns at the
// service range's tenth address, as upstream's, with no selector (its
// endpoints are the nodes' DNS servers) and traffic kept on the node.
func TestClusterDNSService(t *testing.T) {
	s := clustertest.Start(t)
	out := s.MustKubectl("get", "svc", "-n", "kube-system", "kube-dns")
	for _, want := range []string{"kube-dns", "ClusterIP", "10.43.0.10", "53/UDP,53/TCP,9153/TCP"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get svc -n kube-system kube-dns lacks %q:\n%s", want, out)
		}
	}
	svc, err := s.Client.CoreV1().Services("kube-system").Get(context.Background(), "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector != nil || svc.Spec.InternalTrafficPolicy == nil || *svc.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal ||
		svc.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("kube-dns: selector %v, internalTrafficPolicy %v, labels %v", svc.Spec.Selector, svc.Spec.InternalTrafficPolicy, svc.Labels)
	}
	// A restart finds it there and leaves it alone.
	s.Restart()
	again, err := s.Client.CoreV1().Services("kube-system").Get(context.Background(), "kube-dns", metav1.GetOptions{})
	if err != nil || again.UID != svc.UID {
		t.Errorf("kube-dns after a restart: %v (uid %v, was %v)", err, again.UID, svc.UID)
	}
}

// TestNodeServicesRBAC: a node's identity may do what its proxy and DNS
// server need, and no more: read Services, EndpointSlices and Nodes
// everywhere, write its own kube-dns EndpointSlice, naming only itself.
func TestNodeServicesRBAC(t *testing.T) {
	s := clustertest.Start(t)
	node := s.UserIdentity("system:node:node-a", "system:nodes").Client
	ctx := context.Background()
	slice := func(ns, name, nodeName string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, NodeName: &nodeName}},
		}
	}
	create := func(s *discoveryv1.EndpointSlice) func() error {
		return func() error {
			_, err := node.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
			return err
		}
	}
	other := slice("kube-system", "kube-dns-node-a", "node-b")
	other.GenerateName, other.Name = "kube-dns-node-a", ""
	for _, c := range []struct {
		name    string
		do      func() error
		allowed bool
	}{
		{"list services", func() error { _, err := node.CoreV1().Services("").List(ctx, metav1.ListOptions{}); return err }, true},
		{"list endpointslices", func() error {
			_, err := node.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
			return err
		}, true},
		{"list nodes", func() error { _, err := node.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); return err }, true},
		{"create its kube-dns slice", create(slice("kube-system", "kube-dns-node-a", "node-a")), true},
		{"update its kube-dns slice", func() error {
			s, err := node.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-node-a", metav1.GetOptions{})
			if err != nil {
				return err
			}
			s.Endpoints[0].Addresses = []string{"10.0.0.6"}
			_, err = node.DiscoveryV1().EndpointSlices("kube-system").Update(ctx, s, metav1.UpdateOptions{})
			return err
		}, true},
		{"point its slice at another node", func() error {
			s, err := node.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, "kube-dns-node-a", metav1.GetOptions{})
			if err != nil {
				return err
			}
			b := "node-b"
			s.Endpoints[0].NodeName = &b
			_, err = node.DiscoveryV1().EndpointSlices("kube-system").Update(ctx, s, metav1.UpdateOptions{})
			return err
		}, false},
		{"create another node's kube-dns slice", create(slice("kube-system", "kube-dns-node-b", "node-b")), false},
		{"create another kube-system slice", create(slice("kube-system", "metrics-server-x", "node-a")), false},
		{"create a slice by generated name", create(other), false},
		{"create a default endpointslice", create(slice("default", "kube-dns-node-a", "node-a")), false},
		{"delete a kube-system service", func() error {
			return node.CoreV1().Services("kube-system").Delete(ctx, "kube-dns", metav1.DeleteOptions{})
		}, false},
		{"delete its kube-dns slice", func() error {
			return node.DiscoveryV1().EndpointSlices("kube-system").Delete(ctx, "kube-dns-node-a", metav1.DeleteOptions{})
		}, true},
	} {
		err := c.do()
		if c.allowed && err != nil {
			t.Errorf("%s: %v, want allowed", c.name, err)
		}
		if !c.allowed && !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want forbidden", c.name, err)
		}
	}
}

// TestNodeDNSSlice: the agent names its node's DNS server in a kube-dns
// EndpointSlice of its own, with its node's identity; a changed address
// is written over, an unchanged one is not rewritten, and the slice goes
// with its Node.
func TestNodeDNSSlice(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager")
	ctx := context.Background()
	node, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	as := s.UserIdentity("system:node:node-a", "system:nodes").Client
	slices := s.Client.DiscoveryV1().EndpointSlices("kube-system")

	var rv string
	for _, step := range []struct {
		ip      string
		rewrite bool
	}{{"10.0.0.5", true}, {"10.0.0.5", false}, {"10.0.0.6", true}} {
		if err := cluster.EnsureDNSSlice(ctx, as, cluster.DNSSlice(node, step.ip)); err != nil {
			t.Fatalf("ensure slice at %s: %v", step.ip, err)
		}
		got, err := slices.Get(ctx, "kube-dns-node-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ep := got.Endpoints
		if got.Labels[discoveryv1.LabelServiceName] != "kube-dns" || len(ep) != 1 || ep[0].Addresses[0] != step.ip ||
			ep[0].NodeName == nil || *ep[0].NodeName != "node-a" || ep[0].Conditions.Ready == nil || !*ep[0].Conditions.Ready || len(got.Ports) != 3 {
			t.Errorf("slice at %s: labels %v endpoints %+v ports %d", step.ip, got.Labels, ep, len(got.Ports))
		}
		if (got.ResourceVersion != rv) != step.rewrite {
			t.Errorf("slice at %s: resourceVersion %s → %s, want rewritten: %v", step.ip, rv, got.ResourceVersion, step.rewrite)
		}
		rv = got.ResourceVersion
	}

	// The garbage collector removes it with its Node.
	if err := s.Client.CoreV1().Nodes().Delete(ctx, "node-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := slices.Get(ctx, "kube-dns-node-a", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slice of a deleted node still there after a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
