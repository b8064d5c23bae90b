package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// resizedPod is a bound pod asking cpu and memory, generation gen.
func resizedPod(cpu, mem string, gen int64) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team", Generation: gen},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "web", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}},
	}
}

func resizeRequest(pod, old *corev1.Pod) *auth.AdmissionRequest {
	return &auth.AdmissionRequest{Operation: auth.Update, Resource: "pods", Subresource: "resize", Namespace: "team", Name: pod.Name,
		Namespaced: true, Object: pod, Old: old}
}

func TestPodResizeValidator(t *testing.T) {
	node := func(name, os string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: os}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}
	}
	old := resizedPod("100m", "64Mi", 1)
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sub       string
		nodes     []*corev1.Node
		wantErr   string
		wantCause metav1.CauseType
	}{
		{name: "fits", pod: resizedPod("1500m", "512Mi", 2), nodes: []*corev1.Node{node("node-1", "linux")}},
		{name: "cpu and memory beyond allocatable", pod: resizedPod("3", "2Gi", 2), nodes: []*corev1.Node{node("node-1", "linux")},
			wantErr:   `pods "web" is forbidden: node didn't have enough allocatable resources: cpu, requested: 3000, allocatable: 2000; memory, requested: 2147483648, allocatable: 1073741824`,
			wantCause: causeNodeCapacity},
		{name: "windows node", pod: resizedPod("200m", "64Mi", 2), nodes: []*corev1.Node{node("node-1", "windows")},
			wantErr:   `pods "web" is forbidden: pod resize is only supported on linux nodes, node "node-1" is "windows"`,
			wantCause: causeUnsupportedPlatform},
		{name: "node gone", pod: resizedPod("200m", "64Mi", 2), wantErr: `pods "web" is forbidden: node "node-1" not found`},
		{name: "generation unchanged: nothing to judge", pod: resizedPod("3", "64Mi", 1), nodes: []*corev1.Node{node("node-1", "linux")}},
		{name: "not the resize subresource", sub: "status", pod: resizedPod("3", "64Mi", 2), nodes: []*corev1.Node{node("node-1", "linux")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PodResizeValidator{Nodes: &objects[*corev1.Node]{items: tt.nodes}}
			r := resizeRequest(tt.pod, old)
			if tt.sub != "" {
				r.Subresource = tt.sub
			}
			err := p.Admit(context.Background(), r)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.wantCause == "" {
				return
			}
			status, _ := err.(apierrors.APIStatus)
			if causes := status.Status().Details.Causes; len(causes) != 1 || causes[0].Type != tt.wantCause {
				t.Errorf("causes %v, want %s", causes, tt.wantCause)
			}
		})
	}
}

// TestResizeQuotaAndLimits: a resize is charged what it adds to a quota
// and kept within the namespace's LimitRange.
func TestResizeQuotaAndLimits(t *testing.T) {
	q := resource.MustParse
	quota := func(usedCPU string) *corev1.ResourceQuota {
		hard := corev1.ResourceList{corev1.ResourceRequestsCPU: q("1")}
		return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "cpu", Namespace: "team"},
			Spec: corev1.ResourceQuotaSpec{Hard: hard}, Status: corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{corev1.ResourceRequestsCPU: q(usedCPU)}}}
	}
	old := resizedPod("300m", "64Mi", 1)
	tests := []struct {
		name     string
		pod      *corev1.Pod
		used     string
		wantErr  string
		wantUsed string
	}{
		{name: "growth charged", pod: resizedPod("500m", "64Mi", 2), used: "600m", wantUsed: "800m"},
		{name: "growth beyond the quota", pod: resizedPod("900m", "64Mi", 2), used: "600m", wantUsed: "600m",
			wantErr: `pods "web" is forbidden: exceeded quota: cpu, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1`},
		{name: "shrinking is not charged", pod: resizedPod("100m", "64Mi", 2), used: "1", wantUsed: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &objects[*corev1.ResourceQuota]{items: []*corev1.ResourceQuota{quota(tt.used)}}
			err := ResourceQuota{Quotas: store}.Admit(context.Background(), resizeRequest(tt.pod, old))
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if got := store.items[0].Status.Used[corev1.ResourceRequestsCPU]; got.Cmp(q(tt.wantUsed)) != 0 {
				t.Errorf("requests.cpu used %s, want %s", got.String(), tt.wantUsed)
			}
		})
	}

	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "max", Namespace: "team"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}}}
	ranger := LimitRanger{LimitRanges: &objects[*corev1.LimitRange]{items: []*corev1.LimitRange{lr}}}
	big := resizedPod("2", "64Mi", 2)
	big.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("2")}
	if err := ranger.Admit(context.Background(), resizeRequest(big, old)); !apierrors.IsForbidden(err) {
		t.Errorf("resize beyond the LimitRange's max: error %v, want Forbidden", err)
	}
	small := resizedPod("500m", "64Mi", 2)
	small.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("1")}
	if err := ranger.Admit(context.Background(), resizeRequest(small, old)); err != nil {
		t.Errorf("resize within the LimitRange: %v", err)
	}
}
