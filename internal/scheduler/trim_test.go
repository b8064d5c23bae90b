package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// TestTrimPod: the trimmed pod schedules exactly as the full one.
func TestTrimPod(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	now := metav1.Now()
	full := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"disk": "ssd"},
			InitContainers: []corev1.Container{{Name: "sidecar", Image: "proxy", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: rl},
				Ports: []corev1.ContainerPort{{ContainerPort: 15001, HostPort: 15001}}, Command: []string{"run"}}},
			Containers: []corev1.Container{{Name: "main", Image: "app:v1", Resources: corev1.ResourceRequirements{Requests: rl},
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}}, VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
			},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: corev1.LabelHostname,
			}}}},
			Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, StartTime: &now, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "main", Ready: true, AllocatedResources: rl},
				{Name: "other", Ready: true},
			},
		},
	}
	obj, err := trimPod(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := obj.(*corev1.Pod)
	a, b := framework.NewPodInfo(full), framework.NewPodInfo(trimmed)
	if !equality.Semantic.DeepEqual(a.Requests, b.Requests) || a.NonZeroMilliCPU != b.NonZeroMilliCPU ||
		!equality.Semantic.DeepEqual(a.HostPorts, b.HostPorts) || len(b.RequiredAntiAffinityTerms) != 1 {
		t.Errorf("scheduling view changed:\nfull    %+v\ntrimmed %+v", a, b)
	}
	if trimmed.ManagedFields != nil || trimmed.Spec.Containers[0].Env != nil || trimmed.Spec.InitContainers[0].Command != nil ||
		len(trimmed.Spec.Volumes) != 1 || trimmed.Status.PodIP != "" || len(trimmed.Status.ContainerStatuses) != 1 {
		t.Errorf("not trimmed: %+v", trimmed)
	}
	if trimmed.Spec.Containers[0].Image != "app:v1" || trimmed.Spec.NodeSelector["disk"] != "ssd" || trimmed.Status.StartTime == nil ||
		len(trimmed.Status.Conditions) != 1 || trimmed.Status.Phase != corev1.PodRunning {
		t.Errorf("trimmed too much: %+v", trimmed)
	}
}
