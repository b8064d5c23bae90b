package kubelet

import (
	"testing"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxResources(t *testing.T) {
	res, ctr := resList, containerWith
	tests := []struct {
		name          string
		spec          corev1.PodSpec
		want, wantOvh *runtimeapi.LinuxContainerResources
	}{{
		name:    "best effort: the least shares, no limits",
		spec:    corev1.PodSpec{Containers: []corev1.Container{{}}},
		want:    &runtimeapi.LinuxContainerResources{CpuShares: 2},
		wantOvh: &runtimeapi.LinuxContainerResources{},
	}, {
		name: "containers summed",
		spec: corev1.PodSpec{Containers: []corev1.Container{
			ctr(res("cpu", "250m", "memory", "64Mi"), res("cpu", "500m", "memory", "128Mi")),
			ctr(res("cpu", "250m", "memory", "64Mi"), res("cpu", "1", "memory", "128Mi")),
		}},
		want:    &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 150000, MemoryLimitInBytes: 256 << 20},
		wantOvh: &runtimeapi.LinuxContainerResources{},
	}, {
		name: "an init container larger than the rest counts alone",
		spec: corev1.PodSpec{
			InitContainers: []corev1.Container{ctr(res("cpu", "2"), res("cpu", "2", "memory", "1Gi"))},
			Containers:     []corev1.Container{ctr(res("cpu", "100m"), res("cpu", "100m", "memory", "64Mi"))},
		},
		want:    &runtimeapi.LinuxContainerResources{CpuShares: 2048, CpuPeriod: 100000, CpuQuota: 200000, MemoryLimitInBytes: 1 << 30},
		wantOvh: &runtimeapi.LinuxContainerResources{},
	}, {
		name: "overhead apart from the containers, its CPU both request and limit",
		spec: corev1.PodSpec{
			Containers: []corev1.Container{ctr(res("cpu", "100m"), nil)},
			Overhead:   res("cpu", "250m", "memory", "120Mi"),
		},
		want:    &runtimeapi.LinuxContainerResources{CpuShares: 102},
		wantOvh: &runtimeapi.LinuxContainerResources{CpuShares: 256, CpuPeriod: 100000, CpuQuota: 25000, MemoryLimitInBytes: 120 << 20},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tt.spec}
			if got := sandboxResources(pod); !proto.Equal(got, tt.want) {
				t.Errorf("resources %v, want %v", got, tt.want)
			}
			if got := overheadResources(pod); !proto.Equal(got, tt.wantOvh) {
				t.Errorf("overhead %v, want %v", got, tt.wantOvh)
			}
		})
	}
}

// resList is a resource list from name, quantity pairs.
func resList(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// containerWith is a container with those requests and limits.
func containerWith(req, lim corev1.ResourceList) corev1.Container {
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
}
