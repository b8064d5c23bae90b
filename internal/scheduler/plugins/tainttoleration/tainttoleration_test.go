package tainttoleration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("plain"),
		st.Node("gpu", st.Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
		st.Node("draining", st.Taint("drain", "", corev1.TaintEffectNoExecute)),
		st.Node("soft", st.Taint("soft", "", corev1.TaintEffectPreferNoSchedule)),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
	}{
		{"no tolerations", st.Pod("p"), map[string]bool{"plain": true, "soft": true}},
		{"tolerates the gpu taint", st.Pod("p", st.Toleration("dedicated", "gpu", corev1.TaintEffectNoSchedule)), map[string]bool{"plain": true, "gpu": true, "soft": true}},
		{"wrong value", st.Pod("p", st.Toleration("dedicated", "web", corev1.TaintEffectNoSchedule)), map[string]bool{"plain": true, "soft": true}},
		{"exists with any effect", st.Pod("p", st.Toleration("drain", "", "")), map[string]bool{"plain": true, "draining": true, "soft": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := st.Filter(New(), tt.pod, nil, nodes)
			for n, s := range got {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
			}
			if s := got["gpu"]; !tt.pass["gpu"] && (s.Message() != "node(s) had untolerated taint {dedicated: gpu}" || s.Code() != framework.UnschedulableAndUnresolvable) {
				t.Errorf("gpu: %v", s)
			}
		})
	}
}

func TestScore(t *testing.T) {
	nodes := []*corev1.Node{
		st.Node("none"),
		st.Node("one", st.Taint("a", "", corev1.TaintEffectPreferNoSchedule)),
		st.Node("two", st.Taint("a", "", corev1.TaintEffectPreferNoSchedule), st.Taint("b", "", corev1.TaintEffectPreferNoSchedule)),
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		{"fewer intolerable taints score higher", st.Pod("p"), map[string]int64{"none": 100, "one": 50, "two": 0}},
		{"tolerated taints do not count", st.Pod("p", st.Toleration("a", "", corev1.TaintEffectPreferNoSchedule)), map[string]int64{"none": 100, "one": 100, "two": 0}},
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
	if got, _ := st.Score(New(), st.Pod("p"), nil, nodes[:1]); got != nil {
		t.Errorf("no PreferNoSchedule taint anywhere: scored %v, want skipped", got)
	}
}
