package runtimeclass

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	valid := func() *nodev1.RuntimeClass {
		return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"}
	}
	cases := []struct {
		name   string
		change func(*nodev1.RuntimeClass)
		fields []string // the fields of the errors, in order
	}{
		{"valid", func(*nodev1.RuntimeClass) {}, nil},
		{"no handler", func(rc *nodev1.RuntimeClass) { rc.Handler = "" }, []string{"handler"}},
		{"handler not a DNS label", func(rc *nodev1.RuntimeClass) { rc.Handler = "run.sc" }, []string{"handler"}},
		{"overhead", func(rc *nodev1.RuntimeClass) {
			rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{"cpu": resource.MustParse("250m"), "memory": resource.MustParse("64Mi")}}
		}, nil},
		{"negative overhead", func(rc *nodev1.RuntimeClass) {
			rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{"cpu": resource.MustParse("-1")}}
		}, []string{"overhead.limits[cpu]"}},
		{"bad node selector", func(rc *nodev1.RuntimeClass) {
			rc.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"bad key!": "x"}}
		}, []string{"scheduling.nodeSelector"}},
		{"duplicate toleration", func(rc *nodev1.RuntimeClass) {
			tol := corev1.Toleration{Key: "sandboxed", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
			rc.Scheduling = &nodev1.Scheduling{Tolerations: []corev1.Toleration{tol, tol}}
		}, []string{"scheduling.tolerations[1]"}},
		{"bad toleration", func(rc *nodev1.RuntimeClass) {
			rc.Scheduling = &nodev1.Scheduling{Tolerations: []corev1.Toleration{{Key: "k", Operator: "Sometimes"}}}
		}, []string{"scheduling.tolerations.tolerations[0].operator"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := valid()
			tc.change(rc)
			errs := Validate(rc)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field)
			}
			if len(got) != len(tc.fields) {
				t.Fatalf("errors %v, want fields %v", errs, tc.fields)
			}
			for i := range got {
				if got[i] != tc.fields[i] {
					t.Errorf("error %d on %s, want %s (%v)", i, got[i], tc.fields[i], errs)
				}
			}
		})
	}
}

func TestValidateUpdateHandlerImmutable(t *testing.T) {
	old := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"}
	rc := old.DeepCopy()
	rc.Handler = "kata"
	errs := ValidateUpdate(rc, old)
	if len(errs) != 1 || errs[0].Field != "handler" {
		t.Fatalf("errors %v, want one on handler", errs)
	}
	rc.Handler = "runsc"
	rc.Labels = map[string]string{"a": "b"}
	if errs := ValidateUpdate(rc, old); len(errs) != 0 {
		t.Fatalf("label change refused: %v", errs)
	}
}
