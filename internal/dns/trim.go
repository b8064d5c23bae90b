package dns

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trim is the informers' transform: it keeps of a Service or an
// EndpointSlice only what BuildSnapshot reads, so the caches hold names,
// addresses and ports instead of whole objects (managed fields,
// annotations, status), as CoreDNS keeps trimmed objects too.
func trim(o any) (any, error) {
	switch v := o.(type) {
	case *corev1.Service:
		return trimService(v), nil
	case *discoveryv1.EndpointSlice:
		return trimSlice(v), nil
	}
	return o, nil
}

func trimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
}

func trimService(s *corev1.Service) *corev1.Service {
	out := &corev1.Service{ObjectMeta: trimMeta(&s.ObjectMeta), Spec: corev1.ServiceSpec{
		Type: s.Spec.Type, ClusterIP: s.Spec.ClusterIP, ExternalName: s.Spec.ExternalName,
	}}
	if len(s.Spec.ClusterIPs) > 1 || (len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] != s.Spec.ClusterIP) {
		out.Spec.ClusterIPs = s.Spec.ClusterIPs
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out.Spec.Ports = append(out.Spec.Ports, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port})
		}
	}
	return out
}

func trimSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{ObjectMeta: trimMeta(&s.ObjectMeta), AddressType: s.AddressType, Ports: s.Ports}
	if name, ok := s.Labels[discoveryv1.LabelServiceName]; ok {
		out.Labels = map[string]string{discoveryv1.LabelServiceName: name}
	}
	out.Endpoints = make([]discoveryv1.Endpoint, len(s.Endpoints))
	for i, e := range s.Endpoints {
		out.Endpoints[i] = discoveryv1.Endpoint{Addresses: e.Addresses, Hostname: e.Hostname,
			Conditions: discoveryv1.EndpointConditions{Ready: e.Conditions.Ready}}
	}
	return out
}
