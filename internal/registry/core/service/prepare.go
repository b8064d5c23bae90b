package service

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/endpoints"
)

// The cluster's service network. kemudi serves a single IPv4 service
// CIDR (10.43.0.0/16 by default), so IPv4 is the only family a cluster IP
// can be allocated from. Headless services without a selector are still
// dual-stack, as upstream makes them whatever the cluster.
const primaryFamily = corev1.IPv4Protocol

func familyConfigured(f corev1.IPFamily) bool { return f == primaryFamily }

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// familyOf returns the family of an IP, "unknown" for non-IPs.
func familyOf(ip string) corev1.IPFamily {
	parsed := endpoints.ParseIPSloppy(ip)
	switch {
	case parsed == nil:
		return corev1.IPFamily("unknown")
	case parsed.To4() != nil:
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// PrepareForCreate does what upstream does before validating a new
// service: clusterIPs follows clusterIP, and the IP family policy and
// families are filled in.
func PrepareForCreate(svc *corev1.Service) {
	normalizeClusterIPs(svc, nil)
	initIPFamilies(svc, nil)
}

// PrepareForUpdate does what upstream does before validating an update:
// values the client left out but the service holds (cluster IPs, node
// ports, the health-check node port) are carried over, clusterIPs follows
// clusterIP, IP families are filled in, and fields that no longer apply
// after a type change are cleared if the client did not touch them.
func PrepareForUpdate(svc, old *corev1.Service) {
	patchAllocatedValues(svc, old)
	normalizeClusterIPs(svc, old)
	initIPFamilies(svc, old)
	dropTypeDependentFields(svc, old)
}

// normalizeClusterIPs keeps clusterIP and clusterIPs in step when the
// client set only one of them.
func normalizeClusterIPs(svc, old *corev1.Service) {
	spec := &svc.Spec
	if old == nil {
		if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
		return
	}
	// clusterIPs dropped but clusterIP kept: keep the old list.
	if len(old.Spec.ClusterIPs) > 0 && len(spec.ClusterIPs) == 0 && old.Spec.ClusterIP == spec.ClusterIP {
		spec.ClusterIPs = old.Spec.ClusterIPs
	}
	// clusterIP changed but clusterIPs not: clusterIPs follows.
	if old.Spec.ClusterIP != spec.ClusterIP && sameStrings(old.Spec.ClusterIPs, spec.ClusterIPs) {
		if old.Spec.ClusterIP != "" && spec.ClusterIP == "" {
			spec.ClusterIPs = nil
		} else {
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
	}
}

// patchAllocatedValues carries over what the service already holds when
// an update (kubectl replace, apply of a manifest without them) leaves it
// out: its cluster IPs, the node port of each port (matched by port name,
// unless the number is now used by another port), and the health-check
// node port.
func patchAllocatedValues(svc, old *corev1.Service) {
	if needsClusterIP(old) && needsClusterIP(svc) {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIPs = old.Spec.ClusterIPs
		}
	}
	if needsNodePorts(old) && needsNodePorts(svc) {
		used := map[int32]bool{}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				used[p.NodePort] = true
			}
		}
		inBoth := map[int32]bool{}
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 && used[p.NodePort] {
				inBoth[p.NodePort] = true
			}
		}
		byName := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 {
				if np := byName[p.Name]; !inBoth[np] {
					p.NodePort = np
				}
			}
		}
	}
	if needsHealthCheck(old) && needsHealthCheck(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// initIPFamilies fills ipFamilyPolicy (SingleStack; RequireDualStack for
// headless services without a selector) and ipFamilies (the families of
// the given cluster IPs, else the cluster's). It stops where upstream's
// allocator would refuse the service, leaving the error to validation.
func initIPFamilies(svc, old *corev1.Service) {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName || matchingPreferDualStack(svc, old) {
		return
	}
	if spec.IPFamilyPolicy == nil {
		var p corev1.IPFamilyPolicy
		switch {
		case old != nil && old.Spec.IPFamilyPolicy != nil:
			p = *old.Spec.IPFamilyPolicy
		case spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0:
			p = corev1.IPFamilyPolicyRequireDualStack
		default:
			p = corev1.IPFamilyPolicySingleStack
		}
		spec.IPFamilyPolicy = &p
	}
	singleStack := *spec.IPFamilyPolicy == corev1.IPFamilyPolicySingleStack
	if old != nil && singleStack {
		// Downgrading to single-stack releases the secondary IP.
		if sameStrings(old.Spec.ClusterIPs, spec.ClusterIPs) && len(spec.ClusterIPs) > 1 {
			spec.ClusterIPs = spec.ClusterIPs[:1]
		}
		if sameFamilies(old.Spec.IPFamilies, spec.IPFamilies) && len(spec.IPFamilies) > 1 {
			spec.IPFamilies = spec.IPFamilies[:1]
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			break
		}
		if i >= len(spec.IPFamilies) {
			f := familyOf(ip)
			if !familyConfigured(f) {
				return // validation reports it
			}
			spec.IPFamilies = append(spec.IPFamilies, f)
		}
	}
	if spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0 {
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{primaryFamily}
		}
		if len(spec.IPFamilies) < 2 && !singleStack {
			spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
		}
		return
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{primaryFamily}
	}
	// A single-stack cluster has no second family to add for
	// PreferDualStack.
}

// matchingPreferDualStack reports an update of a PreferDualStack service
// that changes neither its type nor its IPs and families: upstream then
// leaves the family fields alone.
func matchingPreferDualStack(svc, old *corev1.Service) bool {
	if old == nil || svc.Spec.IPFamilyPolicy == nil || old.Spec.Type != svc.Spec.Type {
		return false
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return false
	}
	if *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyPreferDualStack ||
		(old.Spec.IPFamilyPolicy != nil && *old.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyPreferDualStack) {
		return false
	}
	return sameStrings(old.Spec.ClusterIPs, svc.Spec.ClusterIPs) && sameFamilies(old.Spec.IPFamilies, svc.Spec.IPFamilies)
}

// dropTypeDependentFields clears, after a type change, the fields the new
// type does not use, but only those the client left as they were (a
// changed value is the client's intent, and validation judges it).
func dropTypeDependentFields(svc, old *corev1.Service) {
	spec := &svc.Spec
	if needsClusterIP(old) && !needsClusterIP(svc) {
		if old.Spec.ClusterIP == spec.ClusterIP && sameStrings(old.Spec.ClusterIPs, spec.ClusterIPs) {
			spec.ClusterIP, spec.ClusterIPs = "", nil
		}
		if reflect.DeepEqual(old.Spec.IPFamilies, spec.IPFamilies) {
			spec.IPFamilies = nil
		}
		if policyOf(old) == policyOf(svc) {
			spec.IPFamilyPolicy = nil
		}
	}
	if wantsNodePorts(old) && !wantsNodePorts(svc) && nodePortsSubset(svc, old) {
		for i := range spec.Ports {
			spec.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheck(old) && !needsHealthCheck(svc) && old.Spec.HealthCheckNodePort == spec.HealthCheckNodePort {
		spec.HealthCheckNodePort = 0
	}
	if old.Spec.Type == corev1.ServiceTypeLoadBalancer && spec.Type != corev1.ServiceTypeLoadBalancer {
		if a, b := old.Spec.AllocateLoadBalancerNodePorts, spec.AllocateLoadBalancerNodePorts; a != nil && b != nil && *a == *b {
			spec.AllocateLoadBalancerNodePorts = nil
		}
		if sameString(old.Spec.LoadBalancerClass, spec.LoadBalancerClass) {
			spec.LoadBalancerClass = nil
		}
	}
	if externallyAccessible(old) && !externallyAccessible(svc) && old.Spec.ExternalTrafficPolicy == spec.ExternalTrafficPolicy {
		spec.ExternalTrafficPolicy = ""
	}
	if spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

// needsClusterIP reports every type but ExternalName (headless services
// hold "None").
func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName
}

// wantsNodePorts reports the types whose ports may carry node ports.
func wantsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// needsNodePorts reports the services that get node ports allocated:
// NodePort, and LoadBalancer unless allocateLoadBalancerNodePorts is false.
func needsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// nodePortsSubset reports whether every node port svc names was old's.
func nodePortsSubset(svc, old *corev1.Service) bool {
	had := map[int32]bool{}
	for _, p := range old.Spec.Ports {
		had[p.NodePort] = true
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !had[p.NodePort] {
			return false
		}
	}
	return true
}

func policyOf(svc *corev1.Service) corev1.IPFamilyPolicy {
	if svc.Spec.IPFamilyPolicy == nil {
		return ""
	}
	return *svc.Spec.IPFamilyPolicy
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameFamilies(a, b []corev1.IPFamily) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
