package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestAdmitPod(t *testing.T) {
	res := resList
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"disk": "ssd"}},
		Status:     corev1.NodeStatus{Allocatable: res("cpu", "2", "memory", "1Gi", "pods", "3", "example.com/gpu", "1")},
	}
	tainted := node.DeepCopy()
	tainted.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}, {Key: "soft", Effect: corev1.TaintEffectNoSchedule}}
	type opt func(*corev1.Pod)
	pod := func(name string, opts ...opt) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
		for _, o := range opts {
			o(p)
		}
		return p
	}
	requests := func(l corev1.ResourceList) opt {
		return func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = l }
	}
	hostPort := func(port int32, ip string) opt {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 80, HostPort: port, HostIP: ip})
		}
	}
	critical := func(p *corev1.Pod) { p.Spec.Priority = ptr.To[int32](systemCriticalPriority) }
	tolerateMemory := func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}
	memPressure := []corev1.NodeConditionType{corev1.NodeMemoryPressure}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		admitted []*corev1.Pod
		node     *corev1.Node
		pressure []corev1.NodeConditionType
		want     *Rejection
	}{{
		name: "fits",
		pod:  pod("p", requests(res("cpu", "1", "memory", "512Mi"))), admitted: []*corev1.Pod{pod("a", requests(res("cpu", "1")))},
	}, {
		name: "too many pods",
		pod:  pod("p"), admitted: []*corev1.Pod{pod("a"), pod("b"), pod("c")},
		want: &Rejection{"OutOfpods", "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
	}, {
		name: "not enough CPU left", pod: pod("p", requests(res("cpu", "1500m"))),
		admitted: []*corev1.Pod{pod("a", requests(res("cpu", "1")))},
		want:     &Rejection{"OutOfcpu", "Node didn't have enough resource: cpu, requested: 1500, used: 1000, capacity: 2000"},
	}, {
		name: "memory, with the overhead counted", pod: pod("p", requests(res("memory", "1000Mi")), func(p *corev1.Pod) { p.Spec.Overhead = res("memory", "30Mi") }),
		want: &Rejection{"OutOfmemory", "Node didn't have enough resource: memory, requested: 1080033280, used: 0, capacity: 1073741824"},
	}, {
		name: "an extended resource", pod: pod("p", requests(res("example.com/gpu", "2"))),
		want: &Rejection{"OutOfexample.com/gpu", "Node didn't have enough resource: example.com/gpu, requested: 2, used: 0, capacity: 1"},
	}, {
		name: "the node selector does not match",
		pod:  pod("p", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} }),
		want: &Rejection{"NodeAffinity", "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
	}, {
		name: "the node selector matches",
		pod:  pod("p", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
	}, {
		name: "a host port another pod holds on every address",
		pod:  pod("p", hostPort(8080, "10.0.0.1")), admitted: []*corev1.Pod{pod("a", hostPort(8080, ""))},
		want: &Rejection{"NodePorts", "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"},
	}, {
		name: "the same host port on another address is free",
		pod:  pod("p", hostPort(8080, "10.0.0.1")), admitted: []*corev1.Pod{pod("a", hostPort(8080, "10.0.0.2"))},
	}, {
		name: "an untolerated NoExecute taint", pod: pod("p"), node: tainted,
		want: &Rejection{"TaintToleration", "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"},
	}, {
		name: "a static pod ignores taints", node: tainted,
		pod: pod("p", func(p *corev1.Pod) { p.Annotations = map[string]string{"kubernetes.io/config.source": "file"} }),
	}, {
		name: "memory pressure refuses a BestEffort pod", pod: pod("p"), pressure: memPressure,
		want: &Rejection{"Evicted", "The node had condition: [MemoryPressure]. "},
	}, {
		name: "memory pressure admits a Burstable pod", pod: pod("p", requests(res("memory", "10Mi"))), pressure: memPressure,
	}, {
		name: "memory pressure admits a BestEffort pod that tolerates it", pod: pod("p", tolerateMemory), pressure: memPressure,
	}, {
		name: "disk pressure refuses even a Burstable pod", pod: pod("p", requests(res("memory", "10Mi"))),
		pressure: []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure},
		want:     &Rejection{"Evicted", "The node had condition: [MemoryPressure DiskPressure]. "},
	}, {
		name: "a critical pod is admitted under pressure", pod: pod("p", critical),
		pressure: []corev1.NodeConditionType{corev1.NodeDiskPressure},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.node
			if n == nil {
				n = node
			}
			got := AdmitPod(AdmitInput{Pod: tt.pod, Admitted: tt.admitted, Node: n, Pressure: tt.pressure})
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
