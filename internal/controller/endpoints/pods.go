package endpoints

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/controller"
)

// PodInService reports whether a pod is an endpoint at all: it has an
// address, has not finished, and (unless terminating pods are wanted) is
// not being deleted.
func PodInService(pod *corev1.Pod, includeTerminating bool) bool {
	if controller.IsPodTerminal(pod) {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return true
}

// FindPort resolves a service port's targetPort on a pod: a number is
// itself, a name is the container port of that name and protocol (of the
// containers and the sidecar init containers).
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	switch sp.TargetPort.Type {
	case intstr.String:
		name := sp.TargetPort.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && p.Protocol == sp.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == name && p.Protocol == sp.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
	case intstr.Int:
		return int32(sp.TargetPort.IntValue()), nil
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
}

// ShouldSetHostname: a pod's hostname is published when its subdomain
// names the service (in the same namespace).
func ShouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Namespace == pod.Namespace
}

// ServiceFamilies are the IP families a service's endpoints come in: its
// ipFamilies, or what its cluster IP says, or IPv4.
func ServiceFamilies(svc *corev1.Service) []corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies
	}
	if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && ip.Is6() {
		return []corev1.IPFamily{corev1.IPv6Protocol}
	}
	return []corev1.IPFamily{corev1.IPv4Protocol}
}

// PodIP returns the pod's address of one family, normalized, or "".
func PodIP(pod *corev1.Pod, family corev1.IPFamily) string {
	ips := pod.Status.PodIPs
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: pod.Status.PodIP}}
	}
	want6 := family == corev1.IPv6Protocol
	for _, p := range ips {
		ip, err := netip.ParseAddr(p.IP)
		if err != nil {
			continue
		}
		if ip = ip.Unmap(); ip.Is6() == want6 {
			return ip.String()
		}
	}
	return ""
}

// IsHeadless reports a service without a cluster IP.
func IsHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == ""
}
