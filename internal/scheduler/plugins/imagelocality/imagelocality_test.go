package imagelocality

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("big", st.Images(map[string]int64{"app:latest": 500, "side:v1": 300})),
		st.Node("small", st.Images(map[string]int64{"app:latest": 500})),
		st.Node("none"),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		// app: 500 MiB on 2 of 3 nodes counts 333 MiB; clamped between
		// 23 MiB and 1000 MiB per container.
		{"an untagged image is :latest", st.Pod("p", st.Image("app")), map[string]int64{"big": 31, "small": 31, "none": 0}},
		{"two images", st.Pod("p", st.Image("app"), func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "s", Image: "side:v1"})
		}), map[string]int64{"big": 20, "small": 15, "none": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Score(New(), tt.pod, nil, nodes)
			if err != nil {
				t.Fatal(err)
			}
			for n, v := range tt.want {
				if got[n] != v {
					t.Errorf("%s scored %d, want %d", n, got[n], v)
				}
			}
		})
	}
	if got, _ := st.Score(New(), st.Pod("p", st.Image("elsewhere")), nil, nodes); got != nil {
		t.Errorf("image no node holds: scored %v, want skipped", got)
	}
}
