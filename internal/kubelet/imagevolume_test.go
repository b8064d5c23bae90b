package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestImageVolumesOf(t *testing.T) {
	tools := &corev1.ImageVolumeSource{Reference: "r/tools:1"}
	data := &corev1.ImageVolumeSource{Reference: "r/data:1"}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "tools", VolumeSource: corev1.VolumeSource{Image: tools}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{Image: data}},
	}}}
	for _, tc := range []struct {
		name   string
		mounts []string
		want   []*corev1.ImageVolumeSource
	}{
		{"none", nil, nil},
		{"only other volumes", []string{"scratch"}, nil},
		{"in the pod's order, each once", []string{"data", "tools", "tools", "scratch"}, []*corev1.ImageVolumeSource{tools, data}},
	} {
		c := &corev1.Container{Name: "c"}
		for i, m := range tc.mounts {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: m, MountPath: "/m" + string(rune('a'+i))})
		}
		got := imageVolumesOf(pod, c)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d sources, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: [%d] = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}
