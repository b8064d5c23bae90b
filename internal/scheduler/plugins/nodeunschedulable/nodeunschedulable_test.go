package nodeunschedulable

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{st.Node("ok"), st.Node("cordoned", st.Unschedulable())}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
	}{
		{"cordoned node rejected", st.Pod("p"), map[string]bool{"ok": true}},
		{"toleration of the unschedulable taint", st.Pod("p", st.Toleration(corev1.TaintNodeUnschedulable, "", corev1.TaintEffectNoSchedule)), map[string]bool{"ok": true, "cordoned": true}},
		{"toleration of another taint", st.Pod("p", st.Toleration("other", "", corev1.TaintEffectNoSchedule)), map[string]bool{"ok": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(), tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != ErrReasonUnschedulable {
					t.Errorf("%s: reason %q", n, s.Message())
				}
			}
		})
	}
}
