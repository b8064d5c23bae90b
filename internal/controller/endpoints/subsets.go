package endpoints

import (
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/controller"
)

// MaxAddresses is how many addresses one Endpoints object holds; beyond
// it the object is truncated and annotated (upstream's maxCapacity).
const MaxAddresses = 1000

// Subsets computes a service's endpoint subsets from its pods: each pod
// with an address of the service's first IP family is a ready address
// (ready, or publishNotReadyAddresses) or a not-ready one, on the ports
// its containers resolve the service's target ports to; the subsets are
// packed so that addresses with the same ports share one.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	family := ServiceFamilies(svc)[0]
	publish := svc.Spec.PublishNotReadyAddresses
	var entries []entry
	for _, pod := range pods {
		if !PodInService(pod, publish) {
			continue
		}
		ip := PodIP(pod, family)
		if ip == "" {
			continue
		}
		nodeName := pod.Spec.NodeName
		addr := corev1.EndpointAddress{
			IP:        ip,
			NodeName:  &nodeName,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if ShouldSetHostname(pod, svc) {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := publish || controller.IsPodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				entries = append(entries, entry{addr: addr, ready: ready})
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := FindPort(pod, sp)
			if err != nil {
				continue
			}
			entries = append(entries, entry{addr: addr, ready: ready, port: &corev1.EndpointPort{
				Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol,
			}})
		}
	}
	return pack(entries)
}

type entry struct {
	addr  corev1.EndpointAddress
	ready bool
	port  *corev1.EndpointPort
}

// pack groups addresses by the set of ports they serve, as upstream's
// RepackSubsets: one subset per distinct port set, addresses sorted by
// IP and target, ports sorted by name, port and protocol.
func pack(entries []entry) []corev1.EndpointSubset {
	type member struct {
		addr  corev1.EndpointAddress
		ready bool
		ports map[string]corev1.EndpointPort
	}
	members := map[string]*member{}
	var order []string
	for _, e := range entries {
		k := addressKey(&e.addr) + "|" + strconv.FormatBool(e.ready)
		m, ok := members[k]
		if !ok {
			m = &member{addr: e.addr, ready: e.ready, ports: map[string]corev1.EndpointPort{}}
			members[k] = m
			order = append(order, k)
		}
		if e.port != nil {
			m.ports[portKey(e.port)] = *e.port
		}
	}
	type group struct {
		ports           []corev1.EndpointPort
		ready, notReady []corev1.EndpointAddress
	}
	groups := map[string]*group{}
	var keys []string
	for _, k := range order {
		m := members[k]
		pk := make([]string, 0, len(m.ports))
		for key := range m.ports {
			pk = append(pk, key)
		}
		sort.Strings(pk)
		gk := strings.Join(pk, ",")
		g, ok := groups[gk]
		if !ok {
			g = &group{ports: []corev1.EndpointPort{}}
			for _, key := range pk {
				g.ports = append(g.ports, m.ports[key])
			}
			groups[gk] = g
			keys = append(keys, gk)
		}
		if m.ready {
			g.ready = append(g.ready, m.addr)
		} else {
			g.notReady = append(g.notReady, m.addr)
		}
	}
	sort.Strings(keys)
	out := make([]corev1.EndpointSubset, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.ready)
		sortAddresses(g.notReady)
		out = append(out, corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return out
}

func addressKey(a *corev1.EndpointAddress) string {
	k := a.IP
	if a.TargetRef != nil {
		k += "/" + string(a.TargetRef.UID) + "/" + a.TargetRef.Namespace + "/" + a.TargetRef.Name
	}
	return k
}

func portKey(p *corev1.EndpointPort) string {
	app := ""
	if p.AppProtocol != nil {
		app = *p.AppProtocol
	}
	return p.Name + "/" + strconv.Itoa(int(p.Port)) + "/" + string(p.Protocol) + "/" + app
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool { return addressKey(&a[i]) < addressKey(&a[j]) })
}

// Normalize sorts subsets as pack does, so that two lists of the same
// endpoints compare equal whoever wrote them.
func Normalize(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	var entries []entry
	for _, s := range subsets {
		for _, lst := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{s.Addresses, true}, {s.NotReadyAddresses, false}} {
			for _, a := range lst.addrs {
				if len(s.Ports) == 0 {
					entries = append(entries, entry{addr: a, ready: lst.ready})
				}
				for i := range s.Ports {
					entries = append(entries, entry{addr: a, ready: lst.ready, port: &s.Ports[i]})
				}
			}
		}
	}
	return pack(entries)
}

// Truncate cuts subsets down to MaxAddresses as upstream does (not-ready
// addresses go first; ready ones are cut in proportion per subset) and
// reports whether it cut anything.
func Truncate(subsets []corev1.EndpointSubset) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= MaxAddresses {
		return false
	}
	truncateReady := ready > MaxAddresses
	max, total := MaxAddresses-ready, notReady
	if truncateReady {
		max, total = MaxAddresses, ready
	}
	left := max
	for i := range subsets {
		s := &subsets[i]
		n := len(s.NotReadyAddresses)
		if truncateReady {
			n = len(s.Addresses)
		}
		take := int(math.Ceil(float64(n) / float64(total) * float64(max)))
		if take > left {
			take = left
		}
		if truncateReady {
			s.Addresses = s.Addresses[:min(take, len(s.Addresses))]
			s.NotReadyAddresses = nil
			left -= len(s.Addresses)
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:min(take, len(s.NotReadyAddresses))]
			left -= len(s.NotReadyAddresses)
		}
	}
	return true
}
