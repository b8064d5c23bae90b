package kubelet

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestGarbage(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app", "side")
	tests := []struct {
		name string
		ctrs []*runtimeapi.ContainerStatus
		want []string
	}{
		{name: "nothing old", ctrs: []*runtimeapi.ContainerStatus{ctr(p, "a2", "app", "running", 3, 1, t0), ctr(p, "a1", "app", "1", 2, 0, t0)}},
		{name: "a crash loop keeps the current and the last", ctrs: []*runtimeapi.ContainerStatus{
			ctr(p, "a4", "app", "1", 5, 3, t0), ctr(p, "a3", "app", "1", 4, 2, t0), ctr(p, "s1", "side", "running", 4, 0, t0),
			ctr(p, "a2", "app", "1", 3, 1, t0), ctr(p, "a1", "app", "1", 2, 0, t0)},
			want: []string{"a2", "a1"}},
		{name: "never a running one", ctrs: []*runtimeapi.ContainerStatus{
			ctr(p, "a3", "app", "1", 4, 2, t0), ctr(p, "a2", "app", "1", 3, 1, t0), ctr(p, "a1", "app", "running", 2, 0, t0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := garbage(PodState{Containers: tc.ctrs}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
