package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func svc() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"}, ClusterIP: "10.43.0.10",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")}},
		},
	}
}

func pod(i int, ready bool, port int32) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	ip := fmt.Sprintf("10.42.%d.%d", i/200, i%200+1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("uid-%d", i))},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func zone(string) (string, bool) { return "zone-a", true }

// apply plays a plan onto the slices, as the API would.
func apply(existing []*discoveryv1.EndpointSlice, p plan) []*discoveryv1.EndpointSlice {
	byUID := map[types.UID]*discoveryv1.EndpointSlice{}
	var order []types.UID
	for _, s := range existing {
		byUID[s.UID] = s
		order = append(order, s.UID)
	}
	for _, s := range p.update {
		byUID[s.UID] = s
	}
	for _, s := range p.delete {
		delete(byUID, s.UID)
	}
	var out []*discoveryv1.EndpointSlice
	for _, uid := range order {
		if s, ok := byUID[uid]; ok {
			out = append(out, s)
		}
	}
	for i, s := range p.create {
		s = s.DeepCopy()
		s.UID = types.UID(fmt.Sprintf("new-%d-%d", len(existing), i))
		s.Name = string(s.UID)
		out = append(out, s)
	}
	return out
}

func run(t *testing.T, s *corev1.Service, pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice) (plan, []*discoveryv1.EndpointSlice) {
	t.Helper()
	groups, missing := desired(s, pods, discoveryv1.AddressTypeIPv4, zone)
	if len(missing) > 0 {
		t.Fatalf("missing %v", missing)
	}
	p := reconcile(serviceMeta(s), discoveryv1.AddressTypeIPv4, groups, existing, MaxEndpointsPerSlice)
	return p, apply(existing, p)
}

func count(slices []*discoveryv1.EndpointSlice) int {
	n := 0
	for _, s := range slices {
		n += len(s.Endpoints)
		if len(s.Endpoints) > MaxEndpointsPerSlice {
			panic("slice over capacity")
		}
	}
	return n
}

func TestReconcileCreatesFullSlices(t *testing.T) {
	var pods []*corev1.Pod
	for i := 0; i < 250; i++ {
		pods = append(pods, pod(i, true, 8080))
	}
	p, slices := run(t, svc(), pods, nil)
	if len(p.create) != 3 || len(p.update) != 0 || len(p.delete) != 0 {
		t.Fatalf("plan: %d create %d update %d delete", len(p.create), len(p.update), len(p.delete))
	}
	if count(slices) != 250 {
		t.Errorf("%d endpoints", count(slices))
	}
	s := p.create[0]
	if s.GenerateName != "web-" || s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels["team"] != "a" {
		t.Errorf("metadata: %+v", s.ObjectMeta)
	}
	if o := s.OwnerReferences; len(o) != 1 || o[0].Kind != "Service" || o[0].UID != "svc-uid" || !*o[0].Controller || !*o[0].BlockOwnerDeletion {
		t.Errorf("owner: %+v", o)
	}
	if len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" {
		t.Errorf("ports: %+v", s.Ports)
	}
	ep := s.Endpoints[0]
	if !*ep.Conditions.Ready || !*ep.Conditions.Serving || *ep.Conditions.Terminating || *ep.NodeName != "node-1" || *ep.Zone != "zone-a" || ep.TargetRef.Kind != "Pod" {
		t.Errorf("endpoint: %+v", ep)
	}

	// Nothing changed: nothing to write.
	p, _ = run(t, svc(), pods, slices)
	if len(p.create)+len(p.update)+len(p.delete) != 0 {
		t.Errorf("steady state wrote %d/%d/%d", len(p.create), len(p.update), len(p.delete))
	}

	// One pod's readiness changes: one slice is updated, in place.
	pods[7] = pod(7, false, 8080)
	p, slices = run(t, svc(), pods, slices)
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 0 || len(p.update[0].Endpoints) != 100 {
		t.Fatalf("readiness change plan: %d/%d/%d", len(p.create), len(p.update), len(p.delete))
	}
	for _, ep := range p.update[0].Endpoints {
		if ep.TargetRef.Name == "web-7" && (*ep.Conditions.Ready || *ep.Conditions.Serving) {
			t.Errorf("web-7 still ready: %+v", ep.Conditions)
		}
	}

	// Ten new pods fill the slice with room before any new slice.
	for i := 250; i < 260; i++ {
		pods = append(pods, pod(i, true, 8080))
	}
	p, slices = run(t, svc(), pods, slices)
	if len(p.create) != 0 || len(p.update) != 1 || len(p.update[0].Endpoints) != 60 {
		t.Errorf("fill plan: %d create %d update", len(p.create), len(p.update))
	}
	if count(slices) != 260 {
		t.Errorf("%d endpoints after fill", count(slices))
	}
}

func TestReconcileRemovesAndPlaceholder(t *testing.T) {
	var pods []*corev1.Pod
	for i := 0; i < 150; i++ {
		pods = append(pods, pod(i, true, 8080))
	}
	_, slices := run(t, svc(), pods, nil)
	// The pods of the second slice go: that slice is deleted, the other
	// one is left alone.
	gone := map[string]bool{}
	for _, ep := range slices[1].Endpoints {
		gone[ep.TargetRef.Name] = true
	}
	var left []*corev1.Pod
	for _, p := range pods {
		if !gone[p.Name] {
			left = append(left, p)
		}
	}
	p, slices := run(t, svc(), left, slices)
	if len(p.delete) != 1 || len(p.update) != 0 || len(p.create) != 0 || count(slices) != 100 {
		t.Errorf("shrink plan %d/%d/%d, %d endpoints", len(p.create), len(p.update), len(p.delete), count(slices))
	}
	// Every pod goes: one placeholder remains (the old slice, emptied).
	p, slices = run(t, svc(), nil, slices)
	if len(slices) != 1 || len(slices[0].Endpoints) != 0 || slices[0].Ports != nil || len(p.create) != 0 {
		t.Fatalf("placeholder: %d slices, plan %d/%d/%d", len(slices), len(p.create), len(p.update), len(p.delete))
	}
	// Steady with the placeholder.
	if p, _ := run(t, svc(), nil, slices); len(p.create)+len(p.update)+len(p.delete) != 0 {
		t.Errorf("placeholder steady state wrote %d/%d/%d", len(p.create), len(p.update), len(p.delete))
	}
	// Pods return: the placeholder goes.
	p, slices = run(t, svc(), pods[:3], slices)
	if len(slices) != 1 || count(slices) != 3 || len(p.delete) != 1 || len(p.create) != 1 {
		t.Errorf("back: %d slices, plan %d/%d/%d", len(slices), len(p.create), len(p.update), len(p.delete))
	}
	// A new service without pods gets a placeholder.
	p, _ = run(t, svc(), nil, nil)
	if len(p.create) != 1 || p.create[0].Endpoints == nil || p.create[0].AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("placeholder create: %+v", p.create)
	}
}

func TestReconcilePortMappingsAndTerminating(t *testing.T) {
	pods := []*corev1.Pod{pod(0, true, 8080), pod(1, true, 9090), pod(2, true, 8080)}
	terminating := pod(3, true, 8080)
	terminating.DeletionTimestamp = &metav1.Time{}
	pods = append(pods, terminating)
	p, slices := run(t, svc(), pods, nil)
	if len(p.create) != 2 || count(slices) != 4 {
		t.Fatalf("port mappings: %d slices, %d endpoints", len(p.create), count(slices))
	}
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			if ep.TargetRef.Name == "web-3" && (*ep.Conditions.Ready || !*ep.Conditions.Serving || !*ep.Conditions.Terminating) {
				t.Errorf("terminating conditions: %+v", ep.Conditions)
			}
		}
	}
	// A service label change rewrites every slice's labels.
	s := svc()
	s.Labels["team"] = "b"
	p, _ = run(t, s, pods, slices)
	if len(p.update) != 2 || p.update[0].Labels["team"] != "b" {
		t.Errorf("label change: %d updates", len(p.update))
	}
	// Headless services are labelled so.
	s.Spec.ClusterIP = corev1.ClusterIPNone
	p, _ = run(t, s, pods, nil)
	if _, ok := p.create[0].Labels[corev1.IsHeadlessService]; !ok {
		t.Error("headless label missing")
	}
}

func TestMirroredGroups(t *testing.T) {
	node := "node-1"
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: "ep-uid", Labels: map[string]string{"team": "a"}},
		Subsets: []corev1.EndpointSubset{
			{
				Addresses:         []corev1.EndpointAddress{{IP: "192.0.2.1", NodeName: &node}, {IP: "2001:db8::1"}},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.2", Hostname: "db-2"}},
				Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}},
			},
			{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.3"}}, Ports: []corev1.EndpointPort{{Name: "metrics", Port: 9187, Protocol: corev1.ProtocolTCP}}},
		},
	}
	groups := mirroredGroups(ep)
	if len(groups[discoveryv1.AddressTypeIPv4]) != 2 || len(groups[discoveryv1.AddressTypeIPv6]) != 1 {
		t.Fatalf("groups = %v", groups)
	}
	meta := sliceMeta{namespace: "ns", prefix: "db-", labels: mirroredLabels(ep), owner: endpointsOwner(ep)}
	p := reconcile(meta, discoveryv1.AddressTypeIPv4, groups[discoveryv1.AddressTypeIPv4], nil, MaxEndpointsPerSlice)
	if len(p.create) != 2 {
		t.Fatalf("%d slices", len(p.create))
	}
	for _, s := range p.create {
		if s.Labels[discoveryv1.LabelManagedBy] != MirroringManagedBy || s.Labels[discoveryv1.LabelServiceName] != "db" || s.Labels["team"] != "a" || s.OwnerReferences[0].Kind != "Endpoints" {
			t.Errorf("slice metadata %+v", s.ObjectMeta)
		}
		for _, e := range s.Endpoints {
			if (e.Addresses[0] == "192.0.2.2") == *e.Conditions.Ready {
				t.Errorf("endpoint %v ready = %v", e.Addresses, *e.Conditions.Ready)
			}
		}
	}
	// Nothing to mirror: no placeholder, unlike a service's slices.
	if p := reconcile(meta, discoveryv1.AddressTypeIPv4, nil, nil, MaxEndpointsPerSlice); len(p.create) != 0 {
		t.Errorf("mirroring made a placeholder")
	}
	sel := &corev1.Service{Spec: corev1.ServiceSpec{Selector: map[string]string{"a": "b"}}}
	plain := &corev1.Service{}
	skip := ep.DeepCopy()
	skip.Labels[skipMirrorLabel] = "true"
	if shouldMirror(sel, ep) || !shouldMirror(plain, ep) || shouldMirror(plain, skip) || shouldMirror(nil, ep) {
		t.Error("shouldMirror")
	}
}
