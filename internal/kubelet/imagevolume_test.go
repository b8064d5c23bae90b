package kubelet

import (
	"context"
	"maps"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
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

// statusRuntime answers ContainerStatus from a table; a container not
// in it is gone (NotFound).
type statusRuntime struct {
	Runtime
	mounts map[string][]*runtimeapi.Mount
}

func (r statusRuntime) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	ms, ok := r.mounts[req.ContainerId]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such container")
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: req.ContainerId, Mounts: ms}}, nil
}

// Images that containers mount as volumes are in use for image garbage
// collection, named by ID or by a tag; other mounts and gone containers
// mark nothing.
func TestMarkImageVolumesInUse(t *testing.T) {
	rt := statusRuntime{mounts: map[string][]*runtimeapi.Mount{
		"by-id":  {{ContainerPath: "/tools", Image: &runtimeapi.ImageSpec{Image: "sha256:aaa"}, Readonly: true}},
		"by-tag": {{ContainerPath: "/data", Image: &runtimeapi.ImageSpec{Image: "reg/data:1"}, Readonly: true}},
		"plain":  {{ContainerPath: "/etc/hosts", HostPath: "/var/lib/kubelet/pods/x/etc-hosts"}},
	}}
	k := &Kubelet{rt: rt}
	byName := map[string]string{"sha256:aaa": "sha256:aaa", "sha256:bbb": "sha256:bbb", "reg/data:1": "sha256:bbb", "sha256:ccc": "sha256:ccc"}
	inUse := map[string]bool{}
	var ctrs []*runtimeapi.Container
	for _, id := range []string{"by-id", "by-tag", "plain", "gone"} {
		ctrs = append(ctrs, &runtimeapi.Container{Id: id})
	}
	k.markImageVolumesInUse(context.Background(), ctrs, byName, inUse)
	if want := map[string]bool{"sha256:aaa": true, "sha256:bbb": true}; !maps.Equal(inUse, want) {
		t.Errorf("in use %v, want %v", inUse, want)
	}
}
