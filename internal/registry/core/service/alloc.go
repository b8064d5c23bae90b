package service

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What a service holds from the cluster's shared pools, and how it gets
// it. The pools (service CIDR, node port range) live in storage, so the
// API server implements Allocator; Allocate decides, as upstream's
// service REST storage does, what to take and what to give back.

// Allocator reserves and releases cluster IPs and node ports. Reserve
// fails for a value already taken or out of range (upstream's messages:
// "provided IP is already allocated", "the provided IP (10.0.0.1) is not
// in the valid range. The range of valid IPs is 10.43.0.0/16", "provided
// port is already allocated", "provided port is not in the valid range.
// The range of valid ports is 30000-32767"); Next fails when the pool is
// exhausted.
type Allocator interface {
	ReserveIP(ip string) error
	NextIP() (string, error)
	ReleaseIP(ip string)
	ReserveNodePort(port int32) error
	NextNodePort() (int32, error)
	ReleaseNodePort(port int32)
}

// Held lists cluster IPs and node ports.
type Held struct {
	IPs       []string
	NodePorts []int32
}

// NeedsClusterIP reports whether a service holds a cluster IP from the
// service CIDR: every type but ExternalName, except headless services.
func NeedsClusterIP(svc *corev1.Service) bool {
	return needsClusterIP(svc) && !isHeadless(svc) && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// NeedsNodePorts reports whether the ports of a service get node ports
// allocated: NodePort services, and LoadBalancer ones unless
// allocateLoadBalancerNodePorts is false (explicit node ports are then
// still honoured).
func NeedsNodePorts(svc *corev1.Service) bool { return needsNodePorts(svc) }

// HoldsOf returns what a stored service holds: its cluster IPs and its
// node ports, the health-check one included. Deleting a service releases
// exactly these.
func HoldsOf(svc *corev1.Service) Held {
	var h Held
	if NeedsClusterIP(svc) {
		for _, ip := range svc.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				h.IPs = append(h.IPs, ip)
			}
		}
	}
	h.NodePorts = nodePortsOf(svc)
	if needsHealthCheck(svc) && svc.Spec.HealthCheckNodePort > 0 {
		h.NodePorts = append(h.NodePorts, svc.Spec.HealthCheckNodePort)
	}
	return h
}

// nodePortsOf lists the distinct non-zero node ports of a service's ports.
func nodePortsOf(svc *corev1.Service) []int32 {
	var out []int32
	seen := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !seen[p.NodePort] {
			seen[p.NodePort] = true
			out = append(out, p.NodePort)
		}
	}
	return out
}

// Allocate gives a validated service (old is nil on create) the cluster
// IP and node ports it needs, writing them into svc: values the client
// asked for are reserved, missing ones taken from the pools. Call it
// after validation, before the write.
//
// On error nothing stays taken. On success, taken is what the write
// holds: release it if the write fails. release is what the old service
// held and the new one no longer does (a type change to ClusterIP or
// ExternalName, a port removed, a load balancer leaving Local traffic):
// release it once the write succeeded.
func Allocate(svc, old *corev1.Service, a Allocator) (taken, release Held, err error) {
	defer func() {
		if err != nil {
			for _, ip := range taken.IPs {
				a.ReleaseIP(ip)
			}
			for _, p := range taken.NodePorts {
				a.ReleaseNodePort(p)
			}
			taken = Held{}
			release = Held{}
		}
	}()
	if err = allocateClusterIP(svc, old, a, &taken, &release); err != nil {
		return
	}
	err = allocateNodePorts(svc, old, a, &taken, &release)
	return
}

func allocateClusterIP(svc, old *corev1.Service, a Allocator, taken, release *Held) error {
	if old != nil {
		if matchingPreferDualStack(svc, old) {
			return nil
		}
		oldHeld := HoldsOf(old)
		if !needsClusterIP(svc) {
			release.IPs = append(release.IPs, oldHeld.IPs...)
			return nil
		}
		if needsClusterIP(old) {
			// Validation keeps the primary IP; a dropped secondary
			// (downgrade to SingleStack) goes back to the pool.
			for _, ip := range oldHeld.IPs {
				if !contains(svc.Spec.ClusterIPs, ip) {
					release.IPs = append(release.IPs, ip)
				}
			}
			return nil
		}
		// From ExternalName: allocate as on create.
	}
	if !NeedsClusterIP(svc) {
		return nil
	}
	ip := svc.Spec.ClusterIP
	if ip != "" {
		if err := a.ReserveIP(ip); err != nil {
			return invalid(svc, field.ErrorList{field.Invalid(clusterIPsPath, svc.Spec.ClusterIPs, fmt.Sprintf("failed to allocate IP %v: %v", ip, err))})
		}
	} else {
		next, err := a.NextIP()
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP for Service %q: %w", svc.Name, err))
		}
		ip = next
	}
	taken.IPs = append(taken.IPs, ip)
	svc.Spec.ClusterIP = ip
	if len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{ip}
	} else {
		svc.Spec.ClusterIPs[0] = ip
	}
	return nil
}

func allocateNodePorts(svc, old *corev1.Service, a Allocator, taken, release *Held) error {
	reserve := func(i int, np int32) error {
		if err := a.ReserveNodePort(np); err != nil {
			return invalid(svc, field.ErrorList{field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), np, err.Error())})
		}
		taken.NodePorts = append(taken.NodePorts, np)
		return nil
	}
	next := func() (int32, error) {
		np, err := a.NextNodePort()
		if err != nil {
			return 0, apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
		}
		taken.NodePorts = append(taken.NodePorts, np)
		return np, nil
	}
	ports := svc.Spec.Ports
	allocate := needsNodePorts(svc)

	switch {
	case !wantsNodePorts(svc):
		// ClusterIP and ExternalName hold none.
	case old == nil:
		// On create, ports sharing a port number (53/TCP and 53/UDP)
		// share one node port.
		byPort := map[int32]int32{}
		for i := range ports {
			sp := &ports[i]
			if sp.NodePort == 0 && !allocate {
				continue
			}
			shared := byPort[sp.Port]
			switch {
			case shared == 0:
				np := requestedNodePort(sp.Port, ports)
				if np != 0 {
					if err := reserve(i, np); err != nil {
						return err
					}
				} else {
					var err error
					if np, err = next(); err != nil {
						return err
					}
				}
				sp.NodePort, byPort[sp.Port] = np, np
			case sp.NodePort == 0:
				sp.NodePort = shared
			case sp.NodePort != shared:
				if err := reserve(i, sp.NodePort); err != nil {
					return err
				}
			}
		}
	default:
		had := map[int32]bool{}
		if wantsNodePorts(old) {
			for _, np := range nodePortsOf(old) {
				had[np] = true
			}
		}
		reserved := map[int32]bool{}
		for i := range ports {
			sp := &ports[i]
			if sp.NodePort == 0 && !allocate {
				continue
			}
			if sp.NodePort != 0 {
				if !had[sp.NodePort] && !reserved[sp.NodePort] {
					if err := reserve(i, sp.NodePort); err != nil {
						return err
					}
					reserved[sp.NodePort] = true
				}
				continue
			}
			np, err := next()
			if err != nil {
				return err
			}
			sp.NodePort = np
		}
	}
	if old != nil && wantsNodePorts(old) {
		kept := map[int32]bool{}
		if wantsNodePorts(svc) {
			for _, np := range nodePortsOf(svc) {
				kept[np] = true
			}
		}
		for _, np := range nodePortsOf(old) {
			if !kept[np] {
				release.NodePorts = append(release.NodePorts, np)
			}
		}
	}

	// The health-check node port of Local load balancers.
	oldNeeds := old != nil && needsHealthCheck(old)
	switch {
	case needsHealthCheck(svc) && !oldNeeds:
		if hc := svc.Spec.HealthCheckNodePort; hc != 0 {
			if err := a.ReserveNodePort(hc); err != nil {
				return apierrors.NewInternalError(fmt.Errorf("failed to allocate requested HealthCheck NodePort %v: %v", hc, err))
			}
			taken.NodePorts = append(taken.NodePorts, hc)
		} else {
			hc, err := a.NextNodePort()
			if err != nil {
				return apierrors.NewInternalError(fmt.Errorf("failed to allocate a HealthCheck NodePort %v: %v", hc, err))
			}
			taken.NodePorts = append(taken.NodePorts, hc)
			svc.Spec.HealthCheckNodePort = hc
		}
	case oldNeeds && !needsHealthCheck(svc) && old.Spec.HealthCheckNodePort != 0:
		release.NodePorts = append(release.NodePorts, old.Spec.HealthCheckNodePort)
	}
	return nil
}

// requestedNodePort returns the node port some port with this port number
// asks for, 0 if none does.
func requestedNodePort(port int32, ports []corev1.ServicePort) int32 {
	for _, p := range ports {
		if p.Port == port && p.NodePort != 0 {
			return p.NodePort
		}
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func invalid(svc *corev1.Service, errs field.ErrorList) error {
	return apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, svc.Name, errs)
}
