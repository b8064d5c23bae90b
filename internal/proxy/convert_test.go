package proxy

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// Bad slices leave the service's other endpoints right and never panic.
func TestSnapshotOfBadInput(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.20", Type: corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "x", Protocol: "BOGUS", Port: 1}}}}
	good := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, NodeName: ptr("me")},
			{Addresses: []string{"not-an-ip", "127.0.0.1", "0.0.0.0", "fd00::1"}},
			{Addresses: []string{"10.42.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}},
			{Addresses: []string{"10.42.0.5"}}, // twice: the first one counts
		}}
	noPorts := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.42.0.9"}}}}
	badPort := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4,
		Ports:     []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(70000))}, {Name: ptr("http"), Port: nil}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.42.0.10"}}}}
	s := snapshotOf(svc, []*discoveryv1.EndpointSlice{good, noPorts, badPort}, "me")
	want := []Endpoint{
		{Addr: netip.MustParseAddr("10.42.0.5"), Port: 8080, Ready: true, Serving: true, Local: true},
		{Addr: netip.MustParseAddr("10.42.0.6"), Port: 8080, Serving: true, Terminating: true},
	}
	if got := s.Endpoints["http"]; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("endpoints: got %+v, want %+v", got, want)
	}
	if len(s.Ports) != 1 || s.Ports[0].NodePort != 30080 {
		t.Errorf("ports: got %+v, want only http with its node port", s.Ports)
	}
}

func TestStaleUDP(t *testing.T) {
	mk := func(eps ...string) *Service {
		s := &Service{ClusterIP: netip.MustParseAddr("10.43.0.10"),
			Ports:     []ServicePort{{Name: "dns", Protocol: protoUDP, Port: 53}, {Name: "tcp", Protocol: protoTCP, Port: 53}},
			Endpoints: map[string][]Endpoint{}}
		for _, e := range eps {
			s.Endpoints["dns"] = append(s.Endpoints["dns"], Endpoint{Addr: netip.MustParseAddr(e), Port: 53})
			s.Endpoints["tcp"] = append(s.Endpoints["tcp"], Endpoint{Addr: netip.MustParseAddr(e), Port: 53})
		}
		return s
	}
	tests := []struct {
		name     string
		old, new *Service
		want     int
	}{
		{"nothing before", nil, mk("10.42.0.1"), 0},
		{"unchanged", mk("10.42.0.1"), mk("10.42.0.1"), 0},
		{"one UDP endpoint gone (its TCP twin needs no flush)", mk("10.42.0.1", "10.42.0.2"), mk("10.42.0.1"), 1},
		{"service gone", mk("10.42.0.1", "10.42.0.2"), nil, 2},
	}
	for _, tt := range tests {
		if got := len(staleUDP(tt.old, tt.new)); got != tt.want {
			t.Errorf("%s: %d filters, want %d", tt.name, got, tt.want)
		}
	}
}

// loadBalancerSourceRanges: the field wins over upstream's annotation;
// ranges that cannot apply to IPv4 still close the load balancer.
func TestSourceRanges(t *testing.T) {
	tests := []struct {
		name       string
		field      []string
		annotation string
		firewalled bool
		want       []string
	}{
		{"none: open", nil, "", false, nil},
		{"field", []string{"10.98.0.2/32", "192.168.1.7/24"}, "", true, []string{"10.98.0.2/32", "192.168.1.0/24"}},
		{"annotation", nil, " 10.0.0.0/8 , 172.16.0.0/12", true, []string{"10.0.0.0/8", "172.16.0.0/12"}},
		{"field wins", []string{"10.98.0.2/32"}, "10.0.0.0/8", true, []string{"10.98.0.2/32"}},
		{"only IPv6 or garbage: closed to all", []string{"fd00::/8"}, "", true, nil},
		{"garbage annotation: closed to all", nil, "everyone", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}},
				Spec: corev1.ServiceSpec{LoadBalancerSourceRanges: tt.field}}
			if tt.annotation != "" {
				svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey] = tt.annotation
			}
			fw, got := sourceRanges(svc)
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if fw != tt.firewalled || fmt.Sprint(gotS) != fmt.Sprint(tt.want) {
				t.Errorf("got %v %v, want %v %v", fw, gotS, tt.firewalled, tt.want)
			}
		})
	}
}
