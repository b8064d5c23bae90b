package nodename

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{st.Node("a"), st.Node("b")}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
	}{
		{"no node name", st.Pod("p"), map[string]bool{"a": true, "b": true}},
		{"named node only", st.Pod("p", func(p *corev1.Pod) { p.Spec.NodeName = "b" }), map[string]bool{"b": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(), tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != ErrReason {
					t.Errorf("%s: reason %q", n, s.Message())
				}
			}
		})
	}
}
