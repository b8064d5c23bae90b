package local

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func routeNode(name, podCIDR, record string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}}}
	if podCIDR != "" {
		n.Spec.PodCIDRs = []string{podCIDR}
	}
	if record != "" {
		n.Annotations[RoutesAnnotation] = record
	}
	return n
}

func TestWantedRoutes(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r1 := `[{"cidr":"10.42.1.0/24","via":"10.0.0.2"}]`
	tests := []struct {
		name  string
		nodes []*corev1.Node
		want  string
	}{
		{"other nodes' routes, not our own", []*corev1.Node{
			routeNode("a", "10.42.0.0/24", `[{"cidr":"10.42.0.0/24","via":"10.0.0.1"}]`),
			routeNode("b", "10.42.1.0/24", r1),
			routeNode("c", "10.42.2.0/24", `[{"cidr":"10.42.2.0/24","via":"10.1.0.3"}]`),
		}, "[10.42.1.0/24 via 10.0.0.2 10.42.2.0/24 via 10.1.0.3]"},
		{"a stale record over our own pod CIDR is ignored", []*corev1.Node{
			routeNode("a", "10.42.1.0/24", ""),
			routeNode("b", "", r1),
		}, "[]"},
		{"a CIDR claimed twice goes to the first node by name", []*corev1.Node{
			routeNode("c", "", `[{"cidr":"10.42.1.0/24","via":"10.0.0.3"}]`),
			routeNode("b", "", r1),
		}, "[10.42.1.0/24 via 10.0.0.2]"},
		{"garbled records are skipped", []*corev1.Node{
			routeNode("b", "", `{`),
			routeNode("c", "", `[{"cidr":"10.42.2.0/24","via":"fd00::1"}]`),
			routeNode("d", "", `[{"cidr":"10.42.3.0/24"}]`),
		}, "[]"},
		{"no records: nothing", []*corev1.Node{routeNode("a", "10.42.0.0/24", ""), routeNode("b", "10.42.1.0/24", "")}, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range WantedRoutes(tt.nodes, "a", quiet) {
				got = append(got, r.CIDR.String()+" via "+r.Via.String())
			}
			if s := fmt.Sprint(got); s != tt.want && !(len(got) == 0 && tt.want == "[]") {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestRoutePlan(t *testing.T) {
	p, a := netip.MustParsePrefix, netip.MustParseAddr
	onLink := func(addr netip.Addr) (int, bool) {
		if p("10.0.0.0/24").Contains(addr) {
			return 2, true
		}
		return 0, false
	}
	want := []NodeRoute{{p("10.42.1.0/24"), a("10.0.0.2")}, {p("10.42.2.0/24"), a("10.1.0.3")}}
	good := KernelRoute{p("10.42.1.0/24"), a("10.0.0.2"), 2}
	tests := []struct {
		name          string
		want          []NodeRoute
		have          []KernelRoute
		add, del, off string
	}{
		{"fresh node", want, nil, "[{10.42.1.0/24 10.0.0.2 2}]", "[]", "[{10.42.2.0/24 10.1.0.3}]"},
		{"in place: nothing to do", want, []KernelRoute{good}, "[]", "[]", "[{10.42.2.0/24 10.1.0.3}]"},
		{"node moved to a new address", []NodeRoute{{p("10.42.1.0/24"), a("10.0.0.9")}}, []KernelRoute{good},
			"[{10.42.1.0/24 10.0.0.9 2}]", "[{10.42.1.0/24 10.0.0.2 2}]", "[]"},
		{"node gone", nil, []KernelRoute{good}, "[]", "[{10.42.1.0/24 10.0.0.2 2}]", "[]"},
		{"now off-link: our route goes", []NodeRoute{{p("10.42.1.0/24"), a("10.1.0.2")}}, []KernelRoute{good},
			"[]", "[{10.42.1.0/24 10.0.0.2 2}]", "[{10.42.1.0/24 10.1.0.2}]"},
		{"duplicate in the kernel: one goes", want[:1], []KernelRoute{good, good}, "[]", "[{10.42.1.0/24 10.0.0.2 2}]", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, del, off := routePlan(tt.want, tt.have, onLink)
			if g := fmt.Sprint(add); g != tt.add {
				t.Errorf("add %s, want %s", g, tt.add)
			}
			if g := fmt.Sprint(del); g != tt.del {
				t.Errorf("del %s, want %s", g, tt.del)
			}
			if g := fmt.Sprint(off); g != tt.off {
				t.Errorf("off-link %s, want %s", g, tt.off)
			}
		})
	}
}
