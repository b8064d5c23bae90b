package endpointslice

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/endpoints"
)

const (
	// ManagedBy is the endpointslice.kubernetes.io/managed-by value of
	// the slices this controller writes.
	ManagedBy = "endpointslice-controller.k8s.io"
	// MaxEndpointsPerSlice is upstream's --max-endpoints-per-slice default.
	MaxEndpointsPerSlice = 100
)

// group is the endpoints of one port mapping.
type group struct {
	ports     []discoveryv1.EndpointPort
	endpoints map[string]discoveryv1.Endpoint
}

// desired computes a service's endpoints of one address type, grouped by
// port mapping (pods that resolve named target ports differently land in
// different slices). zoneOf returns a node's zone; nodeExists says
// whether the node is known (pods on unknown nodes are left out, and
// missing reports them).
func desired(svc *corev1.Service, pods []*corev1.Pod, addressType discoveryv1.AddressType, nodeZone func(node string) (zone string, exists bool)) (groups map[string]*group, missing []string) {
	family := corev1.IPv4Protocol
	if addressType == discoveryv1.AddressTypeIPv6 {
		family = corev1.IPv6Protocol
	}
	groups = map[string]*group{}
	for _, pod := range pods {
		if !endpoints.PodInService(pod, true) {
			continue
		}
		ip := endpoints.PodIP(pod, family)
		if ip == "" {
			continue
		}
		var zone string
		if pod.Spec.NodeName != "" {
			z, ok := nodeZone(pod.Spec.NodeName)
			if !ok {
				missing = append(missing, pod.Namespace+"/"+pod.Name)
				continue
			}
			zone = z
		}
		ports := podPorts(svc, pod)
		k := portsKey(ports)
		g, ok := groups[k]
		if !ok {
			g = &group{ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
			groups[k] = g
		}
		ep := podEndpoint(svc, pod, ip, zone)
		g.endpoints[endpointKey(&ep)] = ep
	}
	return groups, missing
}

// podPorts resolves the service's ports on a pod (ports it cannot
// resolve are left out).
func podPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := endpoints.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, proto, port := sp.Name, sp.Protocol, n
		out = append(out, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port, AppProtocol: sp.AppProtocol})
	}
	return out
}

func podEndpoint(svc *corev1.Service, pod *corev1.Pod, ip, zone string) discoveryv1.Endpoint {
	serving := controller.IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	// Ready is never true for a terminating pod, unless the service
	// publishes not-ready addresses.
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
	}
	if zone != "" {
		ep.Zone = &zone
	}
	if endpoints.ShouldSetHostname(pod, svc) {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

func endpointKey(ep *discoveryv1.Endpoint) string {
	k := strings.Join(ep.Addresses, ",")
	if ep.TargetRef != nil {
		k += "/" + string(ep.TargetRef.UID)
	}
	return k
}

func portsKey(ports []discoveryv1.EndpointPort) string {
	keys := make([]string, len(ports))
	for i, p := range ports {
		var name, proto, app string
		var port int32
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if p.Port != nil {
			port = *p.Port
		}
		if p.AppProtocol != nil {
			app = *p.AppProtocol
		}
		keys[i] = name + "/" + strconv.Itoa(int(port)) + "/" + proto + "/" + app
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// plan is what to write.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

// sliceMeta is what every slice of one owner carries.
type sliceMeta struct {
	namespace, prefix string
	labels            map[string]string
	owner             metav1.OwnerReference
	// placeholder keeps one empty slice when there are no endpoints.
	placeholder bool
}

// serviceMeta is the metadata of a service's slices.
func serviceMeta(svc *corev1.Service) sliceMeta {
	return sliceMeta{namespace: svc.Namespace, prefix: slicePrefix(svc.Name), labels: sliceLabels(svc), owner: ownerRef(svc), placeholder: true}
}

// reconcile turns an owner's existing slices of one address type into
// the desired endpoints, moving as few endpoints as it can.
func reconcile(m sliceMeta, addressType discoveryv1.AddressType, groups map[string]*group, existing []*discoveryv1.EndpointSlice, max int) plan {
	var p plan
	labels, owner := m.labels, m.owner
	total := 0
	for _, g := range groups {
		total += len(g.endpoints)
	}

	byPorts := map[string][]*discoveryv1.EndpointSlice{}
	var placeholders []*discoveryv1.EndpointSlice
	for _, s := range existing {
		if s.AddressType != addressType {
			continue
		}
		if len(s.Endpoints) == 0 && len(s.Ports) == 0 {
			placeholders = append(placeholders, s)
			continue
		}
		k := portsKey(s.Ports)
		byPorts[k] = append(byPorts[k], s)
	}

	var spare []*discoveryv1.EndpointSlice // slices to delete, reusable as the placeholder
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for k, slices := range byPorts {
		if _, ok := groups[k]; !ok {
			spare = append(spare, slices...)
		}
	}
	for _, k := range keys {
		g := groups[k]
		placed := map[string]bool{}
		var changed, unchanged []*discoveryv1.EndpointSlice
		for _, s := range byPorts[k] {
			ns := s.DeepCopy()
			ns.Endpoints = ns.Endpoints[:0]
			dirty := false
			for i := range s.Endpoints {
				key := endpointKey(&s.Endpoints[i])
				want, ok := g.endpoints[key]
				if !ok || placed[key] {
					dirty = true
					continue
				}
				placed[key] = true
				if !apiequality.Semantic.DeepEqual(want, s.Endpoints[i]) {
					dirty = true
				}
				ns.Endpoints = append(ns.Endpoints, want)
			}
			if len(ns.Endpoints) == 0 {
				spare = append(spare, s)
				continue
			}
			if !sliceMetaCurrent(s, labels, owner) {
				setSliceMeta(ns, labels, owner)
				dirty = true
			}
			if dirty {
				changed = append(changed, ns)
			} else {
				unchanged = append(unchanged, s)
			}
		}
		var rest []discoveryv1.Endpoint
		restKeys := make([]string, 0)
		for key := range g.endpoints {
			if !placed[key] {
				restKeys = append(restKeys, key)
			}
		}
		sort.Strings(restKeys)
		for _, key := range restKeys {
			rest = append(rest, g.endpoints[key])
		}
		// Fill the slices being written anyway, then unchanged slices with
		// room (fullest first), then new slices.
		for _, s := range changed {
			n := min(max-len(s.Endpoints), len(rest))
			if n > 0 {
				s.Endpoints = append(s.Endpoints, rest[:n]...)
				rest = rest[n:]
			}
		}
		sort.SliceStable(unchanged, func(i, j int) bool { return len(unchanged[i].Endpoints) > len(unchanged[j].Endpoints) })
		for _, s := range unchanged {
			if len(rest) == 0 {
				break
			}
			if room := max - len(s.Endpoints); room > 0 {
				ns := s.DeepCopy()
				n := min(room, len(rest))
				ns.Endpoints = append(ns.Endpoints, rest[:n]...)
				rest = rest[n:]
				changed = append(changed, ns)
			}
		}
		for len(rest) > 0 {
			n := min(max, len(rest))
			s := newSlice(m, addressType)
			s.Ports = g.ports
			s.Endpoints = append([]discoveryv1.Endpoint(nil), rest[:n]...)
			rest = rest[n:]
			p.create = append(p.create, s)
		}
		p.update = append(p.update, changed...)
	}

	// A service without endpoints keeps exactly one placeholder slice.
	if total == 0 && m.placeholder {
		if len(placeholders) > 0 {
			keep := placeholders[0]
			if !sliceMetaCurrent(keep, labels, owner) {
				ns := keep.DeepCopy()
				setSliceMeta(ns, labels, owner)
				p.update = append(p.update, ns)
			}
			spare = append(spare, placeholders[1:]...)
		} else if len(spare) > 0 {
			ns := spare[0].DeepCopy()
			ns.Endpoints, ns.Ports = []discoveryv1.Endpoint{}, nil
			setSliceMeta(ns, labels, owner)
			p.update = append(p.update, ns)
			spare = spare[1:]
		} else {
			s := newSlice(m, addressType)
			s.Endpoints = []discoveryv1.Endpoint{}
			p.create = append(p.create, s)
		}
	} else {
		spare = append(spare, placeholders...)
	}
	p.delete = append(p.delete, spare...)
	return p
}

func newSlice(m sliceMeta, addressType discoveryv1.AddressType) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{GenerateName: m.prefix, Namespace: m.namespace},
		AddressType: addressType,
	}
	setSliceMeta(s, m.labels, m.owner)
	return s
}

// slicePrefix is "<service>-" when that makes a valid name prefix.
func slicePrefix(name string) string {
	prefix := name + "-"
	if len(validation.IsDNS1123Subdomain(prefix+"a")) != 0 {
		return name
	}
	return prefix
}

// sliceLabels are the service's labels with the reserved ones replaced:
// the service name, the manager, and the headless marker.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		switch k {
		case discoveryv1.LabelServiceName, discoveryv1.LabelManagedBy, corev1.IsHeadlessService:
			continue
		}
		out[k] = v
	}
	if endpoints.IsHeadless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ManagedBy
	return out
}

func ownerRef(svc *corev1.Service) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &t, BlockOwnerDeletion: &t}
}

func sliceMetaCurrent(s *discoveryv1.EndpointSlice, labels map[string]string, owner metav1.OwnerReference) bool {
	if !apiequality.Semantic.DeepEqual(s.Labels, labels) || len(s.OwnerReferences) != 1 {
		return false
	}
	return apiequality.Semantic.DeepEqual(s.OwnerReferences[0], owner)
}

func setSliceMeta(s *discoveryv1.EndpointSlice, labels map[string]string, owner metav1.OwnerReference) {
	s.Labels = make(map[string]string, len(labels))
	for k, v := range labels {
		s.Labels[k] = v
	}
	s.OwnerReferences = []metav1.OwnerReference{owner}
}

// addressTypes are the slice address types a service's families call for.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range endpoints.ServiceFamilies(svc) {
		if f == corev1.IPv6Protocol {
			out = append(out, discoveryv1.AddressTypeIPv6)
		} else {
			out = append(out, discoveryv1.AddressTypeIPv4)
		}
	}
	return out
}
