package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The server keeps of each Service and EndpointSlice only what its
// records need, in the compact forms below, and builds answers from them
// when asked: a typed Service, even trimmed, held ~700 bytes, and its
// records built ahead as dns.RR values as many again.

// serviceKind says which records a Service has.
type serviceKind uint8

const (
	// clusterIP: A/AAAA of its cluster IPs, SRV per named port.
	clusterIP serviceKind = iota
	// headless: A/AAAA per ready endpoint, a name per endpoint.
	headless
	// externalName: a CNAME.
	externalName
)

// port is a named port: the _name._proto of SRV records, and the port.
type port struct {
	name  string // lower case
	proto string // lower case: "tcp", "udp", "sctp"
	num   uint16
}

// service is what DNS keeps of a Service.
type service struct {
	// key is "name.namespace", the service's name under svc.<zone>.
	key   string
	nsAt  int // key[nsAt:] is the namespace
	kind  serviceKind
	ips   []netip.Addr // cluster IPs
	ports []port       // named ports
	// target is the ExternalName, canonical; "" when it is no DNS name.
	target string
}

func (s *service) name() string      { return s.key[:s.nsAt-1] }
func (s *service) namespace() string { return s.key[s.nsAt:] }

// GetObjectMeta names the service for client-go's stores, which key what
// they hold by namespace/name (the reflector's initial stream is held in
// one until it ends).
func (s *service) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: s.namespace(), Name: s.name()}
}

// endpointSlice is what DNS keeps of an EndpointSlice: its ready IP
// addresses (only headless services' records use them) and named ports.
type endpointSlice struct {
	namespace, name string
	// service is the key of the slice's Service ("" without the label).
	service   string
	ports     []port
	endpoints []endpoint
}

// endpoint is one ready address.
type endpoint struct {
	addr netip.Addr
	// host is the endpoint's hostname, lower case; "" for none.
	host string
}

func (e *endpointSlice) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: e.namespace, Name: e.name}
}

// compact is the reflectors' transform: typed objects become their
// compact forms; anything else passes.
func compact(o any) (any, error) {
	switch v := o.(type) {
	case *corev1.Service:
		return compactService(v), nil
	case *discoveryv1.EndpointSlice:
		return compactSlice(v), nil
	}
	return o, nil
}

func serviceKey(namespace, name string) string {
	return strings.ToLower(name) + "." + strings.ToLower(namespace)
}

func compactService(svc *corev1.Service) *service {
	s := &service{key: serviceKey(svc.Namespace, svc.Name), nsAt: len(strings.ToLower(svc.Name)) + 1}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		s.kind = externalName
		target := dns.Fqdn(strings.ToLower(svc.Spec.ExternalName))
		// An ExternalName that is no DNS name (or an IP) gets no record.
		if len(validation.IsDNS1123Subdomain(strings.TrimSuffix(target, "."))) == 0 && !isIP(svc.Spec.ExternalName) {
			s.target = target
		}
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		s.kind = headless
	default:
		s.ips = clusterIPs(svc)
		for _, p := range svc.Spec.Ports {
			if p.Name != "" {
				s.ports = append(s.ports, port{name: strings.ToLower(p.Name), proto: protoLabel(p.Protocol), num: uint16(p.Port)})
			}
		}
	}
	return s
}

func compactSlice(es *discoveryv1.EndpointSlice) *endpointSlice {
	out := &endpointSlice{namespace: es.Namespace, name: es.Name}
	if svc := es.Labels[discoveryv1.LabelServiceName]; svc != "" {
		out.service = serviceKey(es.Namespace, svc)
	}
	if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
		return out
	}
	for _, p := range es.Ports {
		if p.Name == nil || *p.Name == "" || p.Port == nil {
			continue
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		out.ports = append(out.ports, port{name: strings.ToLower(*p.Name), proto: protoLabel(proto), num: uint16(*p.Port)})
	}
	for _, ep := range es.Endpoints {
		if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
			continue
		}
		host := ""
		if ep.Hostname != nil {
			host = strings.ToLower(*ep.Hostname)
		}
		for _, s := range ep.Addresses {
			if a, err := netip.ParseAddr(s); err == nil {
				out.endpoints = append(out.endpoints, endpoint{addr: a, host: host})
			}
		}
	}
	return out
}

// protoLabel is a protocol as SRV names spell it, without allocating for
// the usual three.
func protoLabel(p corev1.Protocol) string {
	switch p {
	case corev1.ProtocolTCP:
		return "tcp"
	case corev1.ProtocolUDP:
		return "udp"
	case corev1.ProtocolSCTP:
		return "sctp"
	}
	return strings.ToLower(string(p))
}

// clusterIPs returns a Service's cluster IPs (dual-stack aware).
func clusterIPs(svc *corev1.Service) []netip.Addr {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
