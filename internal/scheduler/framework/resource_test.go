package framework

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// TestPodNonZeroRequests holds the shortcut for pods that ask for cpu and
// memory everywhere to what upstream's helper computes.
func TestPodNonZeroRequests(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	c := func(requests corev1.ResourceList) corev1.Container {
		return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: requests}}
	}
	always := corev1.ContainerRestartPolicyAlways
	sidecar := c(rl("cpu", "50m", "memory", "10Mi"))
	sidecar.RestartPolicy = &always
	tests := []struct {
		name     string
		spec     corev1.PodSpec
		cpu, mem int64
	}{
		{"both asked", corev1.PodSpec{Containers: []corev1.Container{c(rl("cpu", "100m", "memory", "500Mi"))}}, 100, 500 << 20},
		{"none asked", corev1.PodSpec{Containers: []corev1.Container{c(nil)}}, DefaultMilliCPURequest, DefaultMemoryRequest},
		{"cpu only", corev1.PodSpec{Containers: []corev1.Container{c(rl("cpu", "1"))}}, 1000, DefaultMemoryRequest},
		{"zero is asked", corev1.PodSpec{Containers: []corev1.Container{c(rl("cpu", "0", "memory", "0"))}}, 0, 0},
		{"init container bigger", corev1.PodSpec{
			InitContainers: []corev1.Container{c(rl("cpu", "2", "memory", "1Gi"))},
			Containers:     []corev1.Container{c(rl("cpu", "100m", "memory", "100Mi")), c(rl("cpu", "100m", "memory", "100Mi"))},
		}, 2000, 1 << 30},
		{"init container without requests", corev1.PodSpec{
			InitContainers: []corev1.Container{c(nil)},
			Containers:     []corev1.Container{c(rl("cpu", "10m", "memory", "1Mi"))},
		}, DefaultMilliCPURequest, DefaultMemoryRequest},
		{"sidecar", corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar},
			Containers:     []corev1.Container{c(rl("cpu", "100m", "memory", "100Mi"))},
		}, 150, 110 << 20},
		{"overhead", corev1.PodSpec{
			Overhead:   rl("cpu", "10m", "memory", "1Mi"),
			Containers: []corev1.Container{c(rl("cpu", "100m", "memory", "100Mi"))},
		}, 110, 101 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tt.spec}
			cpu, mem := podNonZeroRequests(pod, podRequests(pod))
			want := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
				UseStatusResources: true,
				NonMissingContainerRequests: corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.DecimalSI),
				},
			})
			if cpu != want.Cpu().MilliValue() || mem != want.Memory().Value() {
				t.Errorf("got %dm %d, upstream's helper %dm %d", cpu, mem, want.Cpu().MilliValue(), want.Memory().Value())
			}
			if cpu != tt.cpu || mem != tt.mem {
				t.Errorf("got %dm %d, want %dm %d", cpu, mem, tt.cpu, tt.mem)
			}
		})
	}
}
