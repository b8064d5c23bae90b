package route

import (
	"net/netip"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
)

func node(name string, cidrs ...string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: cidrs}}
}

func route(node, cidr string) *cloudprovider.Route {
	return &cloudprovider.Route{Name: node + "-" + cidr, TargetNode: typesNode(node), DestinationCIDR: cidr}
}

func list(rs []*cloudprovider.Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.TargetNode)+" "+r.DestinationCIDR)
	}
	sort.Strings(out)
	return out
}

func TestPlan(t *testing.T) {
	cluster := []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	blackhole := route("a", "10.42.9.0/24")
	blackhole.Blackhole = true
	for _, tc := range []struct {
		name           string
		nodes          []*corev1.Node
		routes         []*cloudprovider.Route
		create, delete []string
	}{
		{
			name:   "a route per pod CIDR of each node",
			nodes:  []*corev1.Node{node("a", "10.42.0.0/24"), node("b", "10.42.1.0/24", "fd00:42:0:1::/64"), node("no-cidr-yet")},
			create: []string{"a 10.42.0.0/24", "b 10.42.1.0/24", "b fd00:42:0:1::/64"},
		},
		{
			name:   "routes that exist are kept",
			nodes:  []*corev1.Node{node("a", "10.42.0.0/24"), node("b", "10.42.1.0/24")},
			routes: []*cloudprovider.Route{route("a", "10.42.0.0/24")},
			create: []string{"b 10.42.1.0/24"},
		},
		{
			name:   "a route of a node that went, or to the wrong node, goes",
			nodes:  []*corev1.Node{node("a", "10.42.0.0/24")},
			routes: []*cloudprovider.Route{route("gone", "10.42.5.0/24"), route("b", "10.42.0.0/24")},
			create: []string{"a 10.42.0.0/24"},
			delete: []string{"b 10.42.0.0/24", "gone 10.42.5.0/24"},
		},
		{
			name:   "routes outside the cluster CIDRs are not the cluster's",
			nodes:  []*corev1.Node{node("a", "10.42.0.0/24")},
			routes: []*cloudprovider.Route{route("a", "10.42.0.0/24"), route("x", "192.168.0.0/16")},
		},
		{
			name:   "blackhole routes in the cluster CIDRs go",
			nodes:  []*corev1.Node{node("a", "10.42.9.0/24")},
			routes: []*cloudprovider.Route{blackhole},
			create: []string{"a 10.42.9.0/24"},
			delete: []string{"a 10.42.9.0/24"},
		},
		{
			name:   "a CIDR written unmasked matches",
			nodes:  []*corev1.Node{node("a", "10.42.0.0/24")},
			routes: []*cloudprovider.Route{route("a", "10.42.0.1/24")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.nodes, tc.routes, cluster)
			if got := list(p.Create); fmtList(got) != fmtList(tc.create) {
				t.Errorf("create %v, want %v", got, tc.create)
			}
			if got := list(p.Delete); fmtList(got) != fmtList(tc.delete) {
				t.Errorf("delete %v, want %v", got, tc.delete)
			}
		})
	}
}
