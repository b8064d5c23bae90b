package apiserver_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestPriorityAdmission: pods get their class's priority and preemption
// policy, the global default applies to pods without a class, and
// unknown classes are refused with upstream's message.
func TestPriorityAdmission(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	pod := func(name, class string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec:       corev1.PodSpec{PriorityClassName: class, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	create := func(p *corev1.Pod) (*corev1.Pod, error) {
		return c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	}
	never := corev1.PreemptNever
	for _, pc := range []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 500, PreemptionPolicy: &never},
	} {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	got, err := create(pod("plain", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Priority == nil || *got.Spec.Priority != 0 || got.Spec.PreemptionPolicy == nil || *got.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("no class: priority %v, policy %v", got.Spec.Priority, got.Spec.PreemptionPolicy)
	}
	got, err = create(pod("high", "high"))
	if err != nil || *got.Spec.Priority != 1000 {
		t.Fatalf("class high: %v, %v", got, err)
	}
	got, err = create(pod("polite", "polite"))
	if err != nil || *got.Spec.Priority != 500 || *got.Spec.PreemptionPolicy != corev1.PreemptNever {
		t.Fatalf("class polite: %v, %v", got, err)
	}
	got, err = create(pod("system", "system-cluster-critical"))
	if err != nil || *got.Spec.Priority != 2000000000 {
		t.Fatalf("system-cluster-critical: %v, %v", got, err)
	}

	_, err = create(pod("unknown", "nope"))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "unknown" is forbidden: no PriorityClass with name nope was found`) {
		t.Errorf("unknown class: %v", err)
	}
	_, err = create(pod("lying", "high", func(p *corev1.Pod) { v := int32(5); p.Spec.Priority = &v }))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000") {
		t.Errorf("priority disagreeing with the class: %v", err)
	}

	if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: "everyone"}, Value: 7, GlobalDefault: true,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = create(pod("defaulted", ""))
	if err != nil || *got.Spec.Priority != 7 || got.Spec.PriorityClassName != "everyone" {
		t.Errorf("global default: %v, %v", got, err)
	}
	_, err = c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: "second"}, Value: 8, GlobalDefault: true,
	}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "PriorityClass everyone is already marked as default. Only one default can exist") {
		t.Errorf("second default: %v", err)
	}
}
