package service

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func lb(mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080}}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func withFinalizer(s *corev1.Service) { s.Finalizers = []string{Finalizer} }

func TestNeedsSyncAndChanges(t *testing.T) {
	class := "example.com/lb"
	now := metav1.Now()
	for _, tc := range []struct {
		name     string
		old, cur *corev1.Service
		sync     bool
		reasons  []string
	}{
		{name: "nothing changed", old: lb(), cur: lb()},
		{name: "our own status write", old: lb(withFinalizer), cur: lb(withFinalizer, func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.0.0.1"}}
		})},
		{name: "our own finalizer write", old: lb(), cur: lb(withFinalizer)},
		{name: "a port added", old: lb(), cur: lb(func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443, Protocol: corev1.ProtocolTCP})
		}), sync: true, reasons: []string{"Ports"}},
		{name: "type changed away", old: lb(withFinalizer), cur: lb(withFinalizer, func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }),
			sync: true, reasons: []string{"Type"}},
		{name: "became a load balancer", old: lb(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }), cur: lb(),
			sync: true, reasons: []string{"Type"}},
		{name: "loadBalancerIP and source ranges", old: lb(), cur: lb(func(s *corev1.Service) {
			s.Spec.LoadBalancerIP = "10.99.0.7"
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}), sync: true, reasons: []string{"LoadBalancerSourceRanges", "LoadbalancerIP"}},
		{name: "source ranges reordered", old: lb(func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"a", "b"} }),
			cur: lb(func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"b", "a"} })},
		{name: "deleted", old: lb(withFinalizer), cur: lb(withFinalizer, func(s *corev1.Service) { s.DeletionTimestamp = &now }), sync: true},
		{name: "moved to another class", old: lb(withFinalizer), cur: lb(withFinalizer, func(s *corev1.Service) { s.Spec.LoadBalancerClass = &class }),
			sync: true, reasons: []string{"LoadBalancerClass"}},
		{name: "someone removed the finalizer", old: lb(withFinalizer), cur: lb(), sync: true},
		{name: "someone wiped the status", old: lb(withFinalizer, func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.0.0.1"}}
		}), cur: lb(withFinalizer), sync: true},
		{name: "not a load balancer before or after", old: lb(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }),
			cur: lb(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP; s.Spec.Ports[0].Port = 81 })},
		{name: "another class's service changed", old: lb(func(s *corev1.Service) { s.Spec.LoadBalancerClass = &class }),
			cur: lb(func(s *corev1.Service) { s.Spec.LoadBalancerClass = &class; s.Spec.Ports[0].Port = 81 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsSync(tc.old, tc.cur); got != tc.sync {
				t.Errorf("needsSync = %v, want %v", got, tc.sync)
			}
			var reasons []string
			for _, c := range changes(tc.old, tc.cur) {
				reasons = append(reasons, c.reason)
			}
			slices.Sort(reasons)
			if !slices.Equal(reasons, tc.reasons) {
				t.Errorf("change events %v, want %v", reasons, tc.reasons)
			}
		})
	}
}

func TestNodeFingerprint(t *testing.T) {
	n := func(name string, ready corev1.ConditionStatus, mutate ...func(*corev1.Node)) *corev1.Node {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: metav1.Now()}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0." + name}},
		}}
		for _, m := range mutate {
			m(node)
		}
		return node
	}
	base := nodeFingerprint([]*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionTrue)})
	for _, tc := range []struct {
		name  string
		nodes []*corev1.Node
		same  bool
	}{
		{"a heartbeat, another order", []*corev1.Node{n("2", corev1.ConditionTrue), n("1", corev1.ConditionTrue)}, true},
		{"a node not ready", []*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionFalse)}, false},
		{"a node added", []*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionTrue), n("3", corev1.ConditionTrue)}, false},
		{"a node excluded by label", []*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionTrue, func(n *corev1.Node) {
			n.Labels = map[string]string{LabelExcludeFromLB: ""}
		})}, false},
		{"an address changed", []*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionTrue, func(n *corev1.Node) {
			n.Status.Addresses[0].Address = "10.0.1.2"
		})}, false},
		{"a node being removed by the autoscaler", []*corev1.Node{n("1", corev1.ConditionTrue), n("2", corev1.ConditionTrue, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: TaintToBeDeletedByAutoscale, Effect: corev1.TaintEffectNoSchedule}}
		})}, false},
	} {
		if got := nodeFingerprint(tc.nodes) == base; got != tc.same {
			t.Errorf("%s: same fingerprint = %v, want %v", tc.name, got, tc.same)
		}
	}
}
