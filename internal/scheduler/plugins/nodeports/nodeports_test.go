package nodeports

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{st.Node("a"), st.Node("b")}
	existing := []*corev1.Pod{st.Pod("web", st.HostPort(80), st.OnNode("a"))}
	udp := func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: corev1.ProtocolUDP}}
	}
	ip := func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, HostIP: "10.0.0.1"}}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
	}{
		{"no host ports", st.Pod("p"), map[string]bool{"a": true, "b": true}},
		{"port taken", st.Pod("p", st.HostPort(80)), map[string]bool{"b": true}},
		{"other port", st.Pod("p", st.HostPort(8080)), map[string]bool{"a": true, "b": true}},
		{"other protocol", st.Pod("p", udp), map[string]bool{"a": true, "b": true}},
		{"a specific IP conflicts with 0.0.0.0", st.Pod("p", ip), map[string]bool{"b": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(), tt.pod, existing, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && (s.Message() != ErrReason || s.Code() != framework.Unschedulable) {
					t.Errorf("%s: %v", n, s)
				}
			}
		})
	}
}
