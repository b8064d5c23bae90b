package cluster

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/cloud/localpath"
)

// The cluster DNS Service and what nodes need to serve it: every agent
// runs a DNS server on its node's address and keeps an EndpointSlice
// naming it (see agent_services.go); the Service's internal traffic
// policy Local makes each node's proxy send its pods' questions to that
// node's own server, so a question never crosses nodes.
const (
	DNSServiceNamespace = "kube-system"
	DNSServiceName      = "kube-dns"
	// dnsSliceManager is the managed-by label of the agents' slices:
	// the endpointslice controller leaves them alone (the Service has no
	// selector), and the agents know their own.
	dnsSliceManager = "agent.kemudi.io"
)

// Names of the RBAC objects that give nodes (group system:nodes) what
// their proxy and DNS server need. Upstream gives kube-proxy
// system:node-proxier through a binding of its own (kubeadm:node-proxier
// for kube-proxy's service account, system:kube-proxy for k3s's agents);
// kemudi's agent runs the proxy and DNS with the node's identity, so the
// binding names the nodes' group. The system:node role itself is unchanged.
const (
	nodeProxierBinding = "kemudi:node-proxier"
	nodeDNSRole        = "kemudi:node-dns-endpoints"
	nodeLocalPathRole  = "kemudi:local-path-provisioner"
)

// clusterDNSIP is the service range's tenth address (10.43.0.10), as k3s
// and kubeadm place cluster DNS (the kubelet's --cluster-dns default),
// from its first (the kubernetes service's).
func clusterDNSIP(kubernetesIP netip.Addr) netip.Addr {
	a := kubernetesIP
	for range 9 {
		a = a.Next()
	}
	return a
}

// dnsService is kube-system/kube-dns, as CoreDNS's manifests make it, with
// no selector: its endpoints are the agents' DNS servers.
func dnsService(ip netip.Addr) *corev1.Service {
	local := corev1.ServiceInternalTrafficPolicyLocal
	port := func(name string, proto corev1.Protocol, p int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Protocol: proto, Port: p, TargetPort: intstr.FromInt32(p)}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: DNSServiceName, Namespace: DNSServiceNamespace,
			Labels: map[string]string{
				"k8s-app":                       "kube-dns",
				"kubernetes.io/cluster-service": "true",
				"kubernetes.io/name":            "KubeDNS",
			},
			Annotations: map[string]string{"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
		},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{
				port("dns", corev1.ProtocolUDP, 53),
				port("dns-tcp", corev1.ProtocolTCP, 53),
				port("metrics", corev1.ProtocolTCP, 9153),
			},
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: &local,
		},
	}
}

// nodeServiceRBAC lets nodes run the proxy and DNS: read Services,
// EndpointSlices and Nodes (system:node-proxier, upstream's role for
// kube-proxy), and write EndpointSlices in kube-system (each agent its
// own slice of kube-dns; nodeDNSSlices admits no other); and the
// local-path provisioner (localPathRBAC).
func nodeServiceRBAC() []runtime.Object {
	return append(nodeProxyDNSRBAC(), localPathRBAC()...)
}

// localPathRBAC lets each agent's local-path provisioner do what
// external-provisioner's role allows it: make and delete volumes, read
// claims and classes, record events, hand a claim back (NodeRestriction
// admits only the removal of its own selected-node) and record a grown
// claim's size, and publish the node's free space. NodeRestriction
// admits volume writes for the node's own only. No get: a node's get of
// a claim or volume stays the Node authorizer's (those its pods use).
func localPathRBAC() []runtime.Object {
	rule := func(group, resource string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
	}
	nodes := []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:nodes"}}
	return []runtime.Object{
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: nodeLocalPathRole},
			Rules: []rbacv1.PolicyRule{
				rule("", "persistentvolumes", "list", "watch", "create", "delete", "update"),
				rule("", "persistentvolumeclaims", "list", "watch", "update", "patch"),
				rule("", "persistentvolumeclaims/status", "update", "patch"),
				rule("storage.k8s.io", "storageclasses", "get", "list", "watch"),
				rule("", "events", "create", "patch", "update"),
			},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: nodeLocalPathRole},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: nodeLocalPathRole},
			Subjects:   nodes,
		},
		// The published capacities, as external-provisioner's role in
		// its namespace; NodeRestriction admits a node's writes of its
		// own node's only.
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: nodeLocalPathRole, Namespace: localpath.CapacityNamespace},
			Rules: []rbacv1.PolicyRule{
				rule("storage.k8s.io", "csistoragecapacities", "get", "list", "watch", "create", "update", "patch", "delete"),
			},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: nodeLocalPathRole, Namespace: localpath.CapacityNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: nodeLocalPathRole},
			Subjects:   nodes,
		},
	}
}

// nodeProxyDNSRBAC is the proxy's and the DNS server's part.
func nodeProxyDNSRBAC() []runtime.Object {
	nodes := []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:nodes"}}
	return []runtime.Object{
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: nodeProxierBinding},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-proxier"},
			Subjects:   nodes,
		},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: nodeDNSRole, Namespace: DNSServiceNamespace},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"},
				Verbs: []string{"get", "create", "update", "delete"},
			}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: nodeDNSRole, Namespace: DNSServiceNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: nodeDNSRole},
			Subjects:   nodes,
		},
	}
}
