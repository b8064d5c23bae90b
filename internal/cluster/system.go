package cluster

import (
	"net"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
	"github.com/kemudi/kemudi/internal/registry/rbac/bootstrap"
	"github.com/kemudi/kemudi/internal/registry/scheduling/priorityclass"
)

// systemObjects are created at every start when missing: the system
// namespaces, the kubernetes service in front of the API, the cluster DNS
// service, the system priority classes, the bootstrap RBAC policy and
// API Priority and Fairness's mandatory and suggested configuration.
func systemObjects(kubernetesIP netip.Addr, advertise string, port int) []runtime.Object {
	var out []runtime.Object
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	out = append(out, kubernetesService(kubernetesIP, port))
	out = append(out, dnsService(clusterDNSIP(kubernetesIP)))
	if ip := net.ParseIP(advertise); ip != nil && !ip.IsLoopback() {
		out = append(out, kubernetesEndpoints(advertise, port), kubernetesEndpointSlice(advertise, port))
	}
	out = append(out, objects(priorityclass.SystemClasses())...)
	out = append(out, objects(flowcontrol.BootstrapPriorityLevels())...)
	out = append(out, objects(flowcontrol.BootstrapFlowSchemas())...)
	for _, group := range [][]runtime.Object{
		objects(bootstrap.ClusterRoles()), objects(bootstrap.ClusterRoleBindings()),
		objects(bootstrap.ControllerRoles()), objects(bootstrap.ControllerRoleBindings()),
		objects(bootstrap.NamespaceRoles()), objects(bootstrap.NamespaceRoleBindings()),
	} {
		out = append(out, group...)
	}
	return append(out, nodeServiceRBAC()...)
}

// objects turns a list of values into objects (pointers to copies).
func objects[T any, PT interface {
	*T
	runtime.Object
}](items []T) []runtime.Object {
	out := make([]runtime.Object, len(items))
	for i := range items {
		out[i] = PT(&items[i])
	}
	return out
}

// kubernetesService is default/kubernetes, the API's address inside the
// cluster; it always holds the service CIDR's first address.
func kubernetesService(ip netip.Addr, port int) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{
			"component": "apiserver", "provider": "kubernetes",
		}},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{{
				Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt(port),
			}},
			SessionAffinity: corev1.ServiceAffinityNone,
			Type:            corev1.ServiceTypeClusterIP,
		},
	}
}

func kubernetesEndpoints(ip string, port int) *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{
			"endpointslice.kubernetes.io/skip-mirror": "true",
		}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}},
		}},
	}
}

// kubernetesEndpointSlice is the slice the API server keeps for the
// kubernetes service itself (its Endpoints say skip-mirror).
func kubernetesEndpointSlice(ip string, port int) *discoveryv1.EndpointSlice {
	name, proto, p := "https", corev1.ProtocolTCP, int32(port)
	ready := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: "kubernetes",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &p}},
	}
}

// firstServiceIP is the service CIDR's first usable address.
func firstServiceIP(cidr netip.Prefix) netip.Addr {
	return cidr.Masked().Addr().Next()
}

// hostAddress is the host's first non-loopback IPv4 address, or loopback.
func hostAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// clientAddress is where local clients reach an API bound to bind.
func clientAddress(bind string) string {
	if ip := net.ParseIP(bind); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return bind
}
