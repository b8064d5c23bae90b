package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestDefaultTolerationSeconds(t *testing.T) {
	s300, s60 := int64(300), int64(60)
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	ownNotReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s60}
	everything := corev1.Toleration{Operator: corev1.TolerationOpExists}
	noSchedule := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		op   string
		have []corev1.Toleration
		want []corev1.Toleration
	}{
		{name: "none: both for 300s", op: auth.Create, want: []corev1.Toleration{notReady, unreachable}},
		{name: "its own not-ready toleration stays", op: auth.Create, have: []corev1.Toleration{ownNotReady}, want: []corev1.Toleration{ownNotReady, unreachable}},
		{name: "tolerating everything", op: auth.Create, have: []corev1.Toleration{everything}, want: []corev1.Toleration{everything}},
		{name: "a NoSchedule toleration is not one for NoExecute", op: auth.Create, have: []corev1.Toleration{noSchedule}, want: []corev1.Toleration{noSchedule, notReady, unreachable}},
		{name: "updates are left alone", op: auth.Update},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tt.have}}
			r := &auth.AdmissionRequest{Operation: tt.op, Resource: "pods", Object: pod}
			if err := (DefaultTolerationSeconds{}).Mutate(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(pod.Spec.Tolerations, tt.want) {
				t.Errorf("tolerations %+v, want %+v", pod.Spec.Tolerations, tt.want)
			}
		})
	}
}
