package proxy

import (
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// snapshotOf builds the immutable snapshot of svc and its slices. Objects
// from the informers' caches are only read.
func snapshotOf(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, nodeName string) *Service {
	s := &Service{Namespace: svc.Namespace, Name: svc.Name, Endpoints: map[string][]Endpoint{}}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return s
	}
	if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && a.Is4() {
		s.ClusterIP = a
	}
	for _, ip := range svc.Spec.ExternalIPs {
		if a, err := netip.ParseAddr(ip); err == nil {
			s.ExternalIPs = append(s.ExternalIPs, a)
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil {
				s.LoadBalancerIPs = append(s.LoadBalancerIPs, a)
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		proto := protoOf(p.Protocol)
		if proto == 0 {
			continue
		}
		sp := ServicePort{Name: p.Name, Protocol: proto, Port: uint16(p.Port)}
		if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			sp.NodePort = uint16(p.NodePort)
		}
		s.Ports = append(s.Ports, sp)
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		s.AffinityTimeout = 3 * time.Hour // upstream's default
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			s.AffinityTimeout = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	hasExternal := len(s.ExternalIPs)+len(s.LoadBalancerIPs) > 0 || svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	s.ExternalLocal = hasExternal && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	s.InternalLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	if s.ExternalLocal {
		s.HealthCheckNodePort = svc.Spec.HealthCheckNodePort
	}
	s.Firewalled, s.SourceRanges = sourceRanges(svc)
	for _, sl := range slices {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, port := range sl.Ports {
			if port.Port == nil || *port.Port <= 0 || *port.Port > 65535 {
				continue
			}
			name := ""
			if port.Name != nil {
				name = *port.Name
			}
			for _, e := range sl.Endpoints {
				ep := Endpoint{Port: uint16(*port.Port), Local: e.NodeName != nil && *e.NodeName == nodeName}
				ep.Ready = e.Conditions.Ready == nil || *e.Conditions.Ready
				ep.Serving = ep.Ready
				if e.Conditions.Serving != nil {
					ep.Serving = *e.Conditions.Serving
				}
				ep.Terminating = e.Conditions.Terminating != nil && *e.Conditions.Terminating
				for _, addr := range e.Addresses {
					a, err := netip.ParseAddr(addr)
					if err != nil || !a.Is4() || a.IsLoopback() || a.IsUnspecified() {
						continue // not an address traffic can be sent to
					}
					ep.Addr = a
					s.Endpoints[name] = appendUnique(s.Endpoints[name], ep)
				}
			}
		}
	}
	return s
}

// sourceRanges are a load balancer's allowed clients: the field, or
// upstream's older annotation when the field is empty. Ranges that do not
// parse or are IPv6 are left out, but their presence still closes the
// load balancer to everyone else: a typo must not open it to the world.
func sourceRanges(svc *corev1.Service) (bool, []netip.Prefix) {
	ranges := svc.Spec.LoadBalancerSourceRanges
	if len(ranges) == 0 {
		if a := strings.TrimSpace(svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]); a != "" {
			ranges = strings.Split(a, ",")
		}
	}
	if len(ranges) == 0 {
		return false, nil
	}
	var out []netip.Prefix
	for _, r := range ranges {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil || !p.Addr().Is4() {
			continue
		}
		out = append(out, p.Masked())
	}
	return true, out
}

// appendUnique keeps the first of endpoints the slices name twice (while a
// pod moves between slices).
func appendUnique(eps []Endpoint, e Endpoint) []Endpoint {
	for _, x := range eps {
		if x.Addr == e.Addr && x.Port == e.Port {
			return eps
		}
	}
	return append(eps, e)
}

func protoOf(p corev1.Protocol) uint8 {
	switch p {
	case corev1.ProtocolTCP, "":
		return protoTCP
	case corev1.ProtocolUDP:
		return protoUDP
	case corev1.ProtocolSCTP:
		return protoSCTP
	}
	return 0
}
