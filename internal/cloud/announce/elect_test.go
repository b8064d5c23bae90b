package announce

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// node is a Ready node running an announcer, changed by mods.
func node(name string, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{AnnotationKey: "true"}},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.99.0." + name[len(name)-1:]}},
		},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }
func unknown(n *corev1.Node)  { n.Status.Conditions[0].Status = corev1.ConditionUnknown }
func noMark(n *corev1.Node)   { delete(n.Annotations, AnnotationKey) }
func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }
func excluded(n *corev1.Node) {
	n.Labels = map[string]string{corev1.LabelNodeExcludeBalancers: ""}
}
func deleting(n *corev1.Node) { n.DeletionTimestamp = &metav1.Time{} }
func netDown(n *corev1.Node) {
	n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue})
}

// slice is svc's slice with one endpoint per entry "node" (ready) or
// "node!" (not ready).
func slice(svc, family string, eps ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-" + family, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressType(family),
	}
	for i, e := range eps {
		ready := e[len(e)-1] != '!'
		if !ready {
			e = e[:len(e)-1]
		}
		addr := "10.42.0." + string(rune('1'+i))
		if family == "IPv6" {
			addr = "fd00::" + string(rune('1'+i))
		}
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{addr}, NodeName: ptr.To(e),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}})
	}
	return s
}

func lbService(name string, ips ...string) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster},
	}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return s
}

func local(s *corev1.Service) *corev1.Service {
	s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	return s
}

// The hash order of these names for the addresses used below, which the
// cases rely on (checked by TestRankOrder).
var (
	addr4 = netip.MustParseAddr("10.99.0.200")
	addr6 = netip.MustParseAddr("fd99::200")
)

func TestRankOrder(t *testing.T) {
	for _, tc := range []struct {
		addr  netip.Addr
		order []string
	}{
		{addr4, rankOrder(addr4, "node-1", "node-2", "node-3")},
		{addr6, rankOrder(addr6, "node-1", "node-2", "node-3")},
	} {
		if len(tc.order) != 3 {
			t.Fatalf("order %v", tc.order)
		}
		// Every node computes the same order, whatever order it lists
		// the nodes in.
		nodes := []*corev1.Node{node("node-3"), node("node-1"), node("node-2")}
		svc := lbService("web", tc.addr.String())
		eps := []*discoveryv1.EndpointSlice{slice("web", "IPv4", "node-1"), slice("web", "IPv6", "node-1")}
		for i := range 3 {
			rot := append(append([]*corev1.Node{}, nodes[i:]...), nodes[:i]...)
			if got := Elect(tc.addr, svc, rot, eps); got != tc.order[0] {
				t.Errorf("%s, nodes in order %d: elected %q, want %q", tc.addr, i, got, tc.order[0])
			}
		}
	}
}

// rankOrder sorts names by rank for addr (the test's own sort).
func rankOrder(addr netip.Addr, names ...string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ra, rb := rank(a, addr), rank(b, addr)
		return bytes.Compare(ra[:], rb[:])
	})
	return out
}

func TestElect(t *testing.T) {
	o4 := rankOrder(addr4, "node-1", "node-2", "node-3")
	first, second, third := o4[0], o4[1], o4[2]
	o6 := rankOrder(addr6, "node-1", "node-2", "node-3")
	all := func(mods map[string][]func(*corev1.Node)) []*corev1.Node {
		var out []*corev1.Node
		for _, name := range []string{"node-1", "node-2", "node-3"} {
			out = append(out, node(name, mods[name]...))
		}
		return out
	}
	everywhere := []*discoveryv1.EndpointSlice{slice("web", "IPv4", "node-1", "node-2", "node-3")}
	for _, tc := range []struct {
		name  string
		addr  netip.Addr
		svc   *corev1.Service
		nodes []*corev1.Node
		eps   []*discoveryv1.EndpointSlice
		want  string
	}{
		{"all eligible: the first by hash", addr4, lbService("web"), all(nil), everywhere, first},
		{"the first NotReady: the second takes over", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {notReady}}), everywhere, second},
		{"the first Unknown (its kubelet silent)", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {unknown}}), everywhere, second},
		{"the first gone", addr4, lbService("web"), without(all(nil), first), everywhere, second},
		{"the first's announcer stopped (no mark)", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {noMark}}), everywhere, second},
		{"the first being deleted", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {deleting}}), everywhere, second},
		{"the first excluded from load balancers", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {excluded}}), everywhere, second},
		{"the first's network unavailable", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {netDown}}), everywhere, second},
		{"a cordoned node still announces", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {cordoned}}), everywhere, first},
		{"two down: the third", addr4, lbService("web"), all(map[string][]func(*corev1.Node){first: {notReady}, second: {noMark}}), everywhere, third},
		{"none eligible", addr4, lbService("web"), all(map[string][]func(*corev1.Node){"node-1": {notReady}, "node-2": {notReady}, "node-3": {noMark}}), everywhere, ""},
		{"no nodes", addr4, lbService("web"), nil, everywhere, ""},
		{"no endpoints: nobody announces", addr4, lbService("web"), all(nil), nil, ""},
		{"only unready endpoints: nobody", addr4, lbService("web"), all(nil), []*discoveryv1.EndpointSlice{slice("web", "IPv4", first+"!", second+"!")}, ""},
		{"Cluster policy: endpoints elsewhere do not matter", addr4, lbService("web"), all(nil), []*discoveryv1.EndpointSlice{slice("web", "IPv4", third)}, first},
		{"Local policy: only nodes with a ready endpoint", addr4, local(lbService("web")), all(nil), []*discoveryv1.EndpointSlice{slice("web", "IPv4", third, second+"!")}, third},
		{"Local policy: the better of two with endpoints", addr4, local(lbService("web")), all(nil), []*discoveryv1.EndpointSlice{slice("web", "IPv4", third, second)}, second},
		{"Local policy: the endpoint's node NotReady", addr4, local(lbService("web")), all(map[string][]func(*corev1.Node){third: {notReady}}), []*discoveryv1.EndpointSlice{slice("web", "IPv4", third)}, ""},
		{"IPv6: its own order", addr6, lbService("web"), all(nil), []*discoveryv1.EndpointSlice{slice("web", "IPv6", "node-1")}, o6[0]},
		{"IPv6 address, only IPv4 endpoints: nobody", addr6, lbService("web"), all(nil), everywhere, ""},
		{"Local IPv6: the node of the IPv6 endpoint", addr6, local(lbService("web")), all(nil),
			[]*discoveryv1.EndpointSlice{slice("web", "IPv4", o6[0]), slice("web", "IPv6", o6[2])}, o6[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Elect(tc.addr, tc.svc, tc.nodes, tc.eps); got != tc.want {
				t.Errorf("Elect = %q, want %q (hash order %v)", got, tc.want, o4)
			}
		})
	}
}

func without(nodes []*corev1.Node, name string) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range nodes {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}

func TestAddresses(t *testing.T) {
	own := map[netip.Addr]bool{netip.MustParseAddr("10.99.0.1"): true}
	proxyMode := lbService("web", "10.99.0.200")
	proxyMode.Status.LoadBalancer.Ingress[0].IPMode = ptr.To(corev1.LoadBalancerIPModeProxy)
	classed := lbService("web", "10.99.0.200")
	classed.Spec.LoadBalancerClass = ptr.To("example.com/lb")
	nodePort := lbService("web", "10.99.0.200")
	nodePort.Spec.Type = corev1.ServiceTypeNodePort
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		want []string
	}{
		{"pool addresses, both families, duplicates once", lbService("web", "10.99.0.200", "fd99::200", "10.99.0.200"), []string{"10.99.0.200", "fd99::200"}},
		{"a node's own address is its kernel's", lbService("web", "10.99.0.1", "10.99.0.201"), []string{"10.99.0.201"}},
		{"a hostname ingress has no address", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}}}}}, nil},
		{"ipMode Proxy: not the proxy's traffic", proxyMode, nil},
		{"another implementation's class", classed, nil},
		{"not a LoadBalancer", nodePort, nil},
		{"pending", lbService("web"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range Addresses(tc.svc, own) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Addresses = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	nodes := []*corev1.Node{node("node-1"), node("node-2"), node("node-3")}
	a, b := netip.MustParseAddr("10.99.0.200"), netip.MustParseAddr("10.99.0.201")
	shared := lbService("alpha", "10.99.0.201")
	s := Snapshot{
		Services: []*corev1.Service{lbService("web", "10.99.0.200", "10.99.0.201"), shared, lbService("down", "10.99.0.202")},
		Nodes:    nodes,
		Slices: []*discoveryv1.EndpointSlice{
			slice("web", "IPv4", "node-1"), slice("alpha", "IPv4", "node-2"), slice("down", "IPv4", "node-1!"),
		},
	}
	got := map[netip.Addr]types.NamespacedName{}
	for _, n := range nodes {
		for addr, svc := range Plan(n.Name, s) {
			if _, twice := got[addr]; twice {
				t.Errorf("%s announced by two nodes", addr)
			}
			got[addr] = svc
			if want := Elect(addr, svcNamed(s.Services, svc.Name), nodes, s.Slices); want != n.Name {
				t.Errorf("%s planned on %s, elected %s", addr, n.Name, want)
			}
		}
	}
	// Each address once; the shared one belongs to the first service by
	// name; the service without ready endpoints has none.
	want := map[netip.Addr]types.NamespacedName{
		a: {Namespace: "default", Name: "web"},
		b: {Namespace: "default", Name: "alpha"},
	}
	if len(got) != len(want) || got[a] != want[a] || got[b] != want[b] {
		t.Errorf("plans = %v, want %v", got, want)
	}
}

func svcNamed(svcs []*corev1.Service, name string) *corev1.Service {
	for _, s := range svcs {
		if s.Name == name {
			return s
		}
	}
	return nil
}
