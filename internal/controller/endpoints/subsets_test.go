package endpoints

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testPod(name, ip string, ready bool, ports ...corev1.ContainerPort) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

func testService(ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.43.0.10", Ports: ports},
	}
}

func ips(addrs []corev1.EndpointAddress) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	return out
}

func TestSubsetsReadyAndNotReady(t *testing.T) {
	svc := testService(corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt(8080)})
	pods := []*corev1.Pod{
		testPod("b", "10.42.0.2", true),
		testPod("a", "10.42.0.1", true),
		testPod("c", "10.42.0.3", false),
	}
	noIP := testPod("d", "", true)
	noIP.Status.PodIPs = nil
	done := testPod("e", "10.42.0.5", true)
	done.Status.Phase = corev1.PodSucceeded
	deleting := testPod("f", "10.42.0.6", true)
	deleting.DeletionTimestamp = &metav1.Time{}
	pods = append(pods, noIP, done, deleting)

	got := Subsets(svc, pods)
	if len(got) != 1 {
		t.Fatalf("subsets = %+v", got)
	}
	s := got[0]
	if !reflect.DeepEqual(ips(s.Addresses), []string{"10.42.0.1", "10.42.0.2"}) || !reflect.DeepEqual(ips(s.NotReadyAddresses), []string{"10.42.0.3"}) {
		t.Errorf("ready %v not ready %v", ips(s.Addresses), ips(s.NotReadyAddresses))
	}
	if want := []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}; !reflect.DeepEqual(s.Ports, want) {
		t.Errorf("ports = %+v", s.Ports)
	}
	a := s.Addresses[0]
	if *a.NodeName != "node-1" || a.TargetRef.Kind != "Pod" || a.TargetRef.Name != "a" || a.TargetRef.UID != "uid-a" || a.TargetRef.Namespace != "ns" {
		t.Errorf("address = %+v %+v", a, a.TargetRef)
	}

	// publishNotReadyAddresses makes every address ready, terminating ones included.
	svc.Spec.PublishNotReadyAddresses = true
	got = Subsets(svc, pods)
	if len(got) != 1 || len(got[0].Addresses) != 4 || len(got[0].NotReadyAddresses) != 0 {
		t.Errorf("publishNotReady: %+v", got)
	}
}

func TestSubsetsNamedPortsSplitByPortSet(t *testing.T) {
	svc := testService(
		corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
		corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("metrics")},
	)
	pods := []*corev1.Pod{
		testPod("a", "10.42.0.1", true, corev1.ContainerPort{Name: "web", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, corev1.ContainerPort{Name: "metrics", ContainerPort: 9100, Protocol: corev1.ProtocolTCP}),
		testPod("b", "10.42.0.2", true, corev1.ContainerPort{Name: "web", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}),
		// A UDP port of the name does not serve a TCP service port.
		testPod("c", "10.42.0.3", true, corev1.ContainerPort{Name: "web", ContainerPort: 8080, Protocol: corev1.ProtocolUDP}),
	}
	got := Subsets(svc, pods)
	if len(got) != 2 {
		t.Fatalf("subsets = %+v", got)
	}
	byIP := map[string][]corev1.EndpointPort{}
	for _, s := range got {
		for _, a := range s.Addresses {
			byIP[a.IP] = s.Ports
		}
	}
	if p := byIP["10.42.0.1"]; len(p) != 2 || p[0].Port != 8080 || p[1].Port != 9100 {
		t.Errorf("a ports = %+v", p)
	}
	if p := byIP["10.42.0.2"]; len(p) != 1 || p[0].Port != 8081 || p[0].Name != "http" {
		t.Errorf("b ports = %+v", p)
	}
	if _, ok := byIP["10.42.0.3"]; ok {
		t.Error("pod without the named port is an endpoint")
	}
}

func TestSubsetsHostnameAndHeadless(t *testing.T) {
	svc := testService()
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	p := testPod("a", "10.42.0.1", true)
	p.Spec.Hostname, p.Spec.Subdomain = "a-0", "web"
	q := testPod("b", "10.42.0.2", true)
	q.Spec.Hostname, q.Spec.Subdomain = "b-0", "other"
	got := Subsets(svc, []*corev1.Pod{p, q})
	if len(got) != 1 || len(got[0].Addresses) != 2 || len(got[0].Ports) != 0 {
		t.Fatalf("headless without ports: %+v", got)
	}
	if got[0].Addresses[0].Hostname != "a-0" || got[0].Addresses[1].Hostname != "" {
		t.Errorf("hostnames: %q %q", got[0].Addresses[0].Hostname, got[0].Addresses[1].Hostname)
	}
	// A service with a cluster IP and no ports has no endpoints.
	svc.Spec.ClusterIP = "10.43.0.5"
	if got := Subsets(svc, []*corev1.Pod{p}); len(got) != 0 {
		t.Errorf("no ports, not headless: %+v", got)
	}
}

func TestSubsetsIPFamily(t *testing.T) {
	svc := testService(corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt(80)})
	svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	p := testPod("a", "10.42.0.1", true)
	p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::0001"})
	got := Subsets(svc, []*corev1.Pod{p, testPod("b", "10.42.0.2", true)})
	if len(got) != 1 || !reflect.DeepEqual(ips(got[0].Addresses), []string{"fd00::1"}) {
		t.Errorf("IPv6 service: %+v", got)
	}
}

func TestNormalizeAndTruncate(t *testing.T) {
	svc := testService(corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt(80)})
	var pods []*corev1.Pod
	for i := 0; i < 1100; i++ {
		pods = append(pods, testPod(fmt.Sprintf("p%04d", i), fmt.Sprintf("10.42.%d.%d", i/250, i%250+1), i%2 == 0))
	}
	got := Subsets(svc, pods)
	// The same endpoints in another order normalize equal.
	shuffled := []corev1.EndpointSubset{*got[0].DeepCopy()}
	a := shuffled[0].Addresses
	for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
	if !apiequality.Semantic.DeepEqual(Normalize(shuffled), got) {
		t.Error("normalized subsets differ")
	}
	if !Truncate(got) {
		t.Fatal("1,100 addresses not truncated")
	}
	if n := len(got[0].Addresses) + len(got[0].NotReadyAddresses); n != MaxAddresses || len(got[0].Addresses) != 550 {
		t.Errorf("after truncation %d addresses (%d ready)", n, len(got[0].Addresses))
	}
}
