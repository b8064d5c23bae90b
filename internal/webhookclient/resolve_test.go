package webhookclient

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestReadyAddresses(t *testing.T) {
	name := func(s string) *string { return &s }
	port := func(p int32) *int32 { return &p }
	yes, no := true, false
	udp := corev1.ProtocolUDP
	slice := &discoveryv1.EndpointSlice{
		Ports: []discoveryv1.EndpointPort{{Name: name("https"), Port: port(8443)}, {Name: name("dns"), Port: port(53), Protocol: &udp}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
			{Addresses: []string{"10.42.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
			{Addresses: []string{"10.42.0.7"}}, // unknown readiness counts as ready
		},
	}
	cases := []struct {
		port string
		want []string
	}{
		{"https", []string{"10.42.0.5:8443", "10.42.0.7:8443"}},
		{"dns", nil}, // UDP only
		{"other", nil},
	}
	for _, tc := range cases {
		if got := ReadyAddresses(slice, tc.port); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("port %s: got %q, want %q", tc.port, got, tc.want)
		}
	}
}
