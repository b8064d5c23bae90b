package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestLimitRanger(t *testing.T) {
	q := resource.MustParse
	ranges := []*corev1.LimitRange{{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "team"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q("100m")},
			Default:        corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("256Mi")},
		}},
		}}, {
		ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: "team"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Min:  corev1.ResourceList{corev1.ResourceCPU: q("50m")},
			Max:  corev1.ResourceList{corev1.ResourceMemory: q("1Gi")},
		}, {
			Type: corev1.LimitTypePod, // not enforced by kemudi, and must not get in the way
			Max:  corev1.ResourceList{corev1.ResourceCPU: q("1m")},
		}}},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{corev1.ResourceCPU: q("1m")},
		}}},
	}}
	pod := func(namespace string, res corev1.ResourceRequirements) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: res}}},
		}
	}
	tests := []struct {
		name           string
		pod            *corev1.Pod
		op             string
		wantRequests   corev1.ResourceList
		wantLimits     corev1.ResourceList
		wantAnnotation string
		wantErr        string
	}{{
		name:           "defaults fill what the container leaves out",
		pod:            pod("team", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("128Mi")}}),
		op:             auth.Create,
		wantRequests:   corev1.ResourceList{corev1.ResourceCPU: q("100m")},
		wantLimits:     corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("128Mi")},
		wantAnnotation: "LimitRanger plugin set: cpu request for container app; cpu limit for container app",
	}, {
		name:    "a request below the minimum is refused",
		pod:     pod("team", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("10m")}}),
		op:      auth.Create,
		wantErr: `pods "p" is forbidden: minimum cpu usage per Container is 50m, but request is 10m`,
	}, {
		name:    "a limit above the maximum is refused",
		pod:     pod("team", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("2Gi")}}),
		op:      auth.Create,
		wantErr: `pods "p" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi`,
	}, {
		name:       "another namespace's ranges do not apply",
		pod:        pod("free", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("4")}}),
		op:         auth.Create,
		wantLimits: corev1.ResourceList{corev1.ResourceCPU: q("4")},
	}, {
		name:       "updates are not judged",
		pod:        pod("team", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: q("2Gi")}}),
		op:         auth.Update,
		wantLimits: corev1.ResourceList{corev1.ResourceMemory: q("2Gi")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := LimitRanger{LimitRanges: &objects[*corev1.LimitRange]{items: ranges}}
			r := &auth.AdmissionRequest{Operation: tt.op, Resource: "pods", Namespace: tt.pod.Namespace, Name: tt.pod.Name, Namespaced: true, Object: tt.pod}
			err := p.Mutate(context.Background(), r)
			if err == nil {
				err = p.Admit(context.Background(), r)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			c := tt.pod.Spec.Containers[0]
			if !equalResources(c.Resources.Requests, tt.wantRequests) || !equalResources(c.Resources.Limits, tt.wantLimits) {
				t.Errorf("requests %v limits %v, want %v %v", c.Resources.Requests, c.Resources.Limits, tt.wantRequests, tt.wantLimits)
			}
			if got := tt.pod.Annotations[limitRangerAnnotation]; got != tt.wantAnnotation {
				t.Errorf("annotation %q, want %q", got, tt.wantAnnotation)
			}
		})
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}
