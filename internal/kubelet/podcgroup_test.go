package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPodCgroupFor(t *testing.T) {
	res, ctr := resList, containerWith
	full := res("cpu", "200m", "memory", "32Mi")
	tests := []struct {
		name string
		spec corev1.PodSpec
		want podCgroupLimits
	}{{
		name: "best effort: the least shares and no limits",
		spec: corev1.PodSpec{Containers: []corev1.Container{{}}},
		want: podCgroupLimits{CPUShares: 2},
	}, {
		name: "guaranteed: the sums",
		spec: corev1.PodSpec{Containers: []corev1.Container{ctr(full, full), ctr(full, full)}},
		want: podCgroupLimits{CPUShares: 409, CPUQuota: 40000, CPUPeriod: 100000, Memory: 64 << 20},
	}, {
		name: "guaranteed with overhead: overhead added to each",
		spec: corev1.PodSpec{Containers: []corev1.Container{ctr(full, full)}, Overhead: res("cpu", "100m", "memory", "16Mi")},
		want: podCgroupLimits{CPUShares: 307, CPUQuota: 30000, CPUPeriod: 100000, Memory: 48 << 20},
	}, {
		name: "burstable with every limit set: limited",
		spec: corev1.PodSpec{Containers: []corev1.Container{ctr(res("cpu", "100m", "memory", "8Mi"), full)}},
		want: podCgroupLimits{CPUShares: 102, CPUQuota: 20000, CPUPeriod: 100000, Memory: 32 << 20},
	}, {
		name: "burstable with one container unlimited: shares only",
		spec: corev1.PodSpec{Containers: []corev1.Container{ctr(full, full), ctr(res("cpu", "100m"), nil)}},
		want: podCgroupLimits{CPUShares: 307},
	}, {
		name: "burstable with CPU limits everywhere but memory not",
		spec: corev1.PodSpec{Containers: []corev1.Container{ctr(res("cpu", "100m"), res("cpu", "1")), ctr(full, full)}},
		want: podCgroupLimits{CPUShares: 307, CPUQuota: 120000, CPUPeriod: 100000},
	}, {
		name: "an unlimited init container leaves the pod unlimited",
		spec: corev1.PodSpec{InitContainers: []corev1.Container{ctr(res("cpu", "100m"), nil)}, Containers: []corev1.Container{ctr(full, full)}},
		want: podCgroupLimits{CPUShares: 204},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podCgroupFor(&corev1.Pod{Spec: tt.spec}); got != tt.want {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
}
