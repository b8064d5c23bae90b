package kubelet

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// storagePod is a pod whose container "main" (and sidecar "side", when
// sideLimit is set) may have ephemeral-storage limits, with a disk
// emptyDir "cache" of sizeLimit (none when "") and a memory one "shm".
func storagePod(mainLimit, sideLimit, sizeLimit string) *corev1.Pod {
	p := usagePod("p", 0, "", 0).Pod
	if mainLimit != "" {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(mainLimit)}
	}
	if sideLimit != "" {
		p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse(sideLimit)}}}}
	}
	cache := &corev1.EmptyDirVolumeSource{}
	if sizeLimit != "" {
		cache.SizeLimit = ptr.To(resource.MustParse(sizeLimit))
	}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: cache}},
		{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Mi"))}}},
	}
	return p
}

func TestLocalStorageViolation(t *testing.T) {
	const mi = 1 << 20
	disk := func(main, side int64) map[string]int64 { return map[string]int64{"main": main, "side": side} }
	critical := storagePod("", "", "5Mi")
	critical.Spec.Priority = ptr.To[int32](systemCriticalPriority)
	tests := []struct {
		name    string
		pod     *corev1.Pod
		disk    map[string]int64
		volumes map[string]int64
		want    string
	}{
		{name: "emptyDir past its sizeLimit",
			pod: storagePod("", "", "5Mi"), disk: disk(0, 0), volumes: map[string]int64{"cache": 20 * mi},
			want: `Usage of EmptyDir volume "cache" exceeds the limit "5Mi". `},
		{name: "emptyDir at its sizeLimit is kept",
			pod: storagePod("", "", "5Mi"), disk: disk(0, 0), volumes: map[string]int64{"cache": 5 * mi}},
		{name: "emptyDir without a sizeLimit is kept",
			pod: storagePod("", "", ""), disk: disk(0, 0), volumes: map[string]int64{"cache": 500 * mi}},
		{name: "memory emptyDir is not judged on disk",
			pod: storagePod("", "", ""), disk: disk(0, 0), volumes: map[string]int64{"shm": 20 * mi}},
		{name: "not measured yet: kept",
			pod: storagePod("1Mi", "", "1Mi")},
		{name: "emptyDir first, before the pod's limit",
			pod: storagePod("10Mi", "", "5Mi"), disk: disk(1*mi, 0), volumes: map[string]int64{"cache": 20 * mi},
			want: `Usage of EmptyDir volume "cache" exceeds the limit "5Mi". `},
		{name: "pod total (containers and emptyDir) past its containers' limits",
			pod: storagePod("10Mi", "", ""), disk: disk(4*mi, 0), volumes: map[string]int64{"cache": 7 * mi},
			want: "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi. "},
		{name: "pod total is the sum of the containers' and sidecars' limits",
			pod: storagePod("10Mi", "10Mi", ""), disk: disk(4*mi, 4*mi), volumes: map[string]int64{"cache": 7 * mi}},
		{name: "sidecar past its own limit",
			pod: storagePod("10Mi", "2Mi", ""), disk: disk(1*mi, 3*mi),
			want: `Container side exceeded its local ephemeral storage limit "2Mi". `},
		{name: "under every limit",
			pod: storagePod("10Mi", "10Mi", "5Mi"), disk: disk(2*mi, 2*mi), volumes: map[string]int64{"cache": 4 * mi}},
		{name: "critical pod is never evicted",
			pod: critical, disk: disk(0, 0), volumes: map[string]int64{"cache": 20 * mi}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LocalStorageViolation(PodUsage{Pod: tc.pod, Disk: tc.disk, Volumes: tc.volumes})
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Under disk pressure a pod's emptyDirs count with its containers.
func TestRankForDiskCountsEmptyDirs(t *testing.T) {
	const mi = 1 << 20
	layers := usagePod("layers", 0, "", 10*mi)
	volumes := usagePod("volumes", 0, "", 1*mi)
	volumes.Volumes = map[string]int64{"cache": 50 * mi}
	var got []string
	for _, u := range RankForEviction(SignalNodeFsAvailable, []PodUsage{layers, volumes}) {
		got = append(got, u.Pod.Name)
	}
	if want := []string{"volumes", "layers"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Only pods with a local storage limit are measured every round.
func TestHasLocalStorageLimit(t *testing.T) {
	initOnly := storagePod("", "", "")
	initOnly.Spec.InitContainers = []corev1.Container{{Name: "setup",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}}}}
	zero := storagePod("0", "", "0")
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"no limit (a memory emptyDir's sizeLimit is not one)", storagePod("", "", ""), false},
		{"zero limits", zero, false},
		{"emptyDir sizeLimit", storagePod("", "", "5Mi"), true},
		{"container limit", storagePod("1Gi", "", ""), true},
		{"sidecar limit", storagePod("", "1Gi", ""), true},
		{"init container limit (the pod's total)", initOnly, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasLocalStorageLimit(tc.pod); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
