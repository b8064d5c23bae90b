package endpointslice

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// webSlice is what the endpoint slice controller writes for a service
// with two ready pods.
func webSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-abc12", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}, NodeName: ptr("node-1"), Zone: ptr("zone-a"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1"}},
			{Addresses: []string{"10.42.1.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}, NodeName: ptr("node-2"),
				Hints: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "zone-b"}}}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
	}
}

func TestDefault(t *testing.T) {
	eps := webSlice()
	eps.Ports = append(eps.Ports, discoveryv1.EndpointPort{Port: ptr(int32(53)), Protocol: ptr(corev1.ProtocolUDP)})
	Resource().Hooks.Default(eps)
	if *eps.Ports[0].Protocol != corev1.ProtocolTCP || *eps.Ports[1].Name != "" || *eps.Ports[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("ports %+v", eps.Ports)
	}
}

func TestValidate(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
		}
		return out
	}
	cases := []struct {
		name   string
		modify func(*discoveryv1.EndpointSlice)
		want   []string
	}{
		{name: "valid", modify: func(*discoveryv1.EndpointSlice) {}},
		{name: "no endpoints yet", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints = nil }},
		{name: "IPv6", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.AddressType = discoveryv1.AddressTypeIPv6
			eps.Endpoints[0].Addresses = []string{"fd00::5"}
			eps.Endpoints[1].Addresses = []string{"fd00::7"}
		}},
		{name: "FQDN", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.AddressType = discoveryv1.AddressTypeFQDN
			eps.Endpoints[0].Addresses = []string{"db.example.com"}
			eps.Endpoints[1].Addresses = []string{"db2.example.com"}
		}},
		{name: "no address type", modify: func(eps *discoveryv1.EndpointSlice) { eps.AddressType = "" }, want: []string{"addressType: Required value"}},
		{name: "bad address type", modify: func(eps *discoveryv1.EndpointSlice) { eps.AddressType = "IP" }, want: []string{"addressType: Unsupported value"}},
		{name: "no addresses", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Addresses = nil }, want: []string{"endpoints[0].addresses: Required value"}},
		{name: "too many addresses", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Addresses = many(101) },
			want: []string{"endpoints[0].addresses: Too many"}},
		{name: "too many endpoints", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Endpoints = make([]discoveryv1.Endpoint, 1001)
		}, want: []string{"endpoints: Too many"}},
		{name: "not an IP", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Addresses = []string{"web-1"} },
			want: []string{"endpoints[0].addresses[0]: Invalid value"}},
		{name: "IPv6 in an IPv4 slice", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Addresses = []string{"fd00::5"} },
			want: []string{"endpoints[0].addresses: Invalid value"}},
		{name: "loopback", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Addresses = []string{"127.0.0.1"} },
			want: []string{"endpoints[0].addresses[0]: Invalid value"}},
		{name: "link-local", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[1].Addresses = []string{"169.254.169.254"} },
			want: []string{"endpoints[1].addresses[0]: Invalid value"}},
		{name: "bad FQDN", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.AddressType = discoveryv1.AddressTypeFQDN
			eps.Endpoints = eps.Endpoints[:1]
			eps.Endpoints[0].Addresses = []string{"db"}
		}, want: []string{"endpoints[0].addresses[0]: Invalid value"}},
		{name: "bad node name", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].NodeName = ptr("Node_1") },
			want: []string{"endpoints[0].nodeName: Invalid value"}},
		{name: "bad hostname", modify: func(eps *discoveryv1.EndpointSlice) { eps.Endpoints[0].Hostname = ptr("web.1") },
			want: []string{"endpoints[0].hostname: Invalid value"}},
		{name: "bad hints", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Endpoints[1].Hints.ForZones = []discoveryv1.ForZone{{Name: "a"}, {Name: "a"}, {Name: "b c"}}
			eps.Endpoints[1].Hints.ForNodes = []discoveryv1.ForNode{{Name: "Node"}}
		}, want: []string{"endpoints[1].hints.forZones[1].name: Duplicate value", "endpoints[1].hints.forZones[2].name: Invalid value", "endpoints[1].hints.forNodes[0].name: Invalid value"}},
		{name: "too many zone hints", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Endpoints[1].Hints.ForZones = make([]discoveryv1.ForZone, 9)
		}, want: []string{"endpoints[1].hints.forZones: Too many"}},
		{name: "duplicate port names", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Ports = append(eps.Ports, discoveryv1.EndpointPort{Name: ptr("http"), Port: ptr(int32(80))})
		}, want: []string{"ports[1].name: Duplicate value"}},
		{name: "two unnamed ports", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Ports = []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Port: ptr(int32(81))}}
		}, want: []string{"ports[1].name: Duplicate value"}},
		{name: "bad port name and protocol", modify: func(eps *discoveryv1.EndpointSlice) {
			eps.Ports[0].Name = ptr("HTTP")
			eps.Ports[0].Protocol = ptr(corev1.Protocol("ICMP"))
			eps.Ports[0].AppProtocol = ptr("kubernetes.io/h2c")
		}, want: []string{"ports[0].name: Invalid value", "ports[0].protocol: Unsupported value"}},
		{name: "bad appProtocol", modify: func(eps *discoveryv1.EndpointSlice) { eps.Ports[0].AppProtocol = ptr("a/b/c") },
			want: []string{"ports[0].appProtocol: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps := webSlice()
			tc.modify(eps)
			Resource().Hooks.Default(eps)
			got := errKeys(Resource().Hooks.Validate(context.Background(), eps))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := webSlice()
	Resource().Hooks.Default(old)
	old.Endpoints[0].Addresses = []string{"127.0.0.1"} // stored by an older server
	eps := old.DeepCopy()
	eps.Ports[0].Port = ptr(int32(9090))
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), eps, old); len(errs) != 0 {
		t.Errorf("unchanged endpoints re-validated: %v", errs)
	}
	eps.Endpoints[1].Addresses = []string{"10.42.1.8"}
	if got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), eps, old)); !reflect.DeepEqual(got, []string{"endpoints[0].addresses[0]: Invalid value"}) {
		t.Errorf("changed endpoints: %q", got)
	}
	eps = old.DeepCopy()
	eps.AddressType = discoveryv1.AddressTypeIPv6
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), eps, old))
	if want := []string{"addressType: Invalid value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("addressType change: %q", got)
	}
}

func TestPrepare(t *testing.T) {
	eps := webSlice()
	eps.Endpoints[0].DeprecatedTopology = map[string]string{corev1.LabelHostname: "node-1"}
	Resource().Hooks.PrepareForCreate(context.Background(), eps)
	if eps.Endpoints[0].DeprecatedTopology != nil {
		t.Error("create kept deprecatedTopology")
	}

	// An endpoint whose node was recorded only in the old topology keeps
	// it as nodeName.
	old := webSlice()
	old.Generation = 4
	old.Endpoints[0].NodeName = nil
	old.Endpoints[0].DeprecatedTopology = map[string]string{corev1.LabelHostname: "node-1"}
	eps = old.DeepCopy()
	eps.Endpoints[1].Addresses = []string{"10.42.1.8"}
	Resource().Hooks.PrepareForUpdate(context.Background(), eps, old)
	if eps.Endpoints[0].NodeName == nil || *eps.Endpoints[0].NodeName != "node-1" || eps.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("endpoint 0: %+v", eps.Endpoints[0])
	}

	// Unchanged endpoints keep their topology; a label change bumps
	// generation.
	eps = old.DeepCopy()
	eps.Labels = map[string]string{"x": "y"}
	Resource().Hooks.PrepareForUpdate(context.Background(), eps, old)
	if eps.Endpoints[0].DeprecatedTopology == nil || eps.Generation != 5 {
		t.Errorf("topology %v generation %d", eps.Endpoints[0].DeprecatedTopology, eps.Generation)
	}
	// Already bumped by the server for a spec change: not bumped twice.
	eps = old.DeepCopy()
	eps.Labels = map[string]string{"x": "y"}
	eps.Generation = 5
	Resource().Hooks.PrepareForUpdate(context.Background(), eps, old)
	if eps.Generation != 5 {
		t.Errorf("generation %d", eps.Generation)
	}
}

func TestWarnings(t *testing.T) {
	eps := webSlice()
	eps.Labels[discoveryv1.LabelManagedBy] = "my-controller"
	eps.Endpoints[0].Addresses = []string{"010.042.000.005"}
	got := Resource().Hooks.Warnings(context.Background(), eps, nil)
	if want := []string{`endpoints[0].addresses[0]: non-standard IP address "010.042.000.005" is invalid: use "10.42.0.5"`}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	eps.Labels[discoveryv1.LabelManagedBy] = "endpointslice-controller.k8s.io"
	if got := Resource().Hooks.Warnings(context.Background(), eps, nil); len(got) != 0 {
		t.Errorf("controller's slice warned: %q", got)
	}
	eps.AddressType = discoveryv1.AddressTypeFQDN
	eps.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"db.example.com"}}}
	if got := Resource().Hooks.Warnings(context.Background(), eps, nil); !reflect.DeepEqual(got, []string{"spec.addressType: FQDN endpoints are deprecated"}) {
		t.Errorf("FQDN: %q", got)
	}
	if got := Resource().Hooks.Warnings(context.Background(), eps, eps); len(got) != 0 {
		t.Errorf("FQDN on update: %q", got)
	}
}

func TestTable(t *testing.T) {
	eps := webSlice()
	row, _ := Resource().Table.Row(eps)
	if want := []interface{}{"web-abc12", "IPv4", "8080", "10.42.0.5,10.42.1.7", "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	eps.Ports = []discoveryv1.EndpointPort{{Port: ptr(int32(1))}, {Name: ptr("dns")}, {}, {Port: ptr(int32(4))}, {Port: ptr(int32(5))}}
	eps.Endpoints = append(eps.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.42.2.1", "10.42.2.2"}})
	row, _ = Resource().Table.Row(eps)
	if row[2] != "1,dns,* + 2 more..." || row[3] != "10.42.0.5,10.42.1.7,10.42.2.1 + 1 more..." {
		t.Errorf("row %q", row)
	}
	eps.Ports, eps.Endpoints = nil, nil
	row, _ = Resource().Table.Row(eps)
	if row[2] != "<unset>" || row[3] != "<unset>" {
		t.Errorf("row %q", row)
	}
	eps.Ports = []discoveryv1.EndpointPort{{Name: ptr("")}}
	if row, _ = Resource().Table.Row(eps); row[2] != "<unset>" {
		t.Errorf("unnamed port without number: %q", row[2])
	}
}
