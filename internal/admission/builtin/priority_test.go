package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestPriority(t *testing.T) {
	never := corev1.PreemptNever
	lower := corev1.PreemptLowerPriority
	classes := []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 500, PreemptionPolicy: &never},
	}
	withDefault := append([]*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "everyone"}, Value: 7, GlobalDefault: true},
		{ObjectMeta: metav1.ObjectMeta{Name: "race"}, Value: 9, GlobalDefault: true},
	}, classes...)
	i32 := func(v int32) *int32 { return &v }
	pod := func(class string, priority *int32, policy *corev1.PreemptionPolicy) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{PriorityClassName: class, Priority: priority, PreemptionPolicy: policy}}
	}
	tests := []struct {
		name         string
		classes      []*schedulingv1.PriorityClass
		obj          runtime.Object
		op           string
		wantClass    string
		wantPriority int32
		wantPolicy   corev1.PreemptionPolicy
		wantErr      string
	}{{
		name: "no class and no default: priority 0", classes: classes, obj: pod("", nil, nil), op: auth.Create,
		wantPriority: 0, wantPolicy: lower,
	}, {
		name: "the class's value", classes: classes, obj: pod("high", nil, nil), op: auth.Create,
		wantClass: "high", wantPriority: 1000, wantPolicy: lower,
	}, {
		name: "the class's preemption policy", classes: classes, obj: pod("polite", nil, nil), op: auth.Create,
		wantClass: "polite", wantPriority: 500, wantPolicy: never,
	}, {
		name: "the same priority as the class's may be given", classes: classes, obj: pod("high", i32(1000), nil), op: auth.Create,
		wantClass: "high", wantPriority: 1000, wantPolicy: lower,
	}, {
		name: "the lowest global default when a race made two", classes: withDefault, obj: pod("", nil, nil), op: auth.Create,
		wantClass: "everyone", wantPriority: 7, wantPolicy: lower,
	}, {
		name: "an unknown class", classes: classes, obj: pod("nope", nil, nil), op: auth.Create,
		wantErr: `pods "p" is forbidden: no PriorityClass with name nope was found`,
	}, {
		name: "a priority the class disagrees with", classes: classes, obj: pod("high", i32(5), nil), op: auth.Create,
		wantErr: `pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name`,
	}, {
		name: "a policy the class disagrees with", classes: classes, obj: pod("polite", nil, &lower), op: auth.Create,
		wantErr: `pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name`,
	}, {
		name: "a pod update is left alone", classes: classes, obj: pod("nope", nil, nil), op: auth.Update, wantClass: "nope",
	}, {
		name: "a second global default class", classes: withDefault, op: auth.Create,
		obj:     &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "second"}, Value: 8, GlobalDefault: true},
		wantErr: `priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass everyone is already marked as default. Only one default can exist`,
	}, {
		name: "the first global default class", classes: classes, op: auth.Create,
		obj: &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "first"}, Value: 8, GlobalDefault: true},
	}, {
		name: "a class that is not the default", classes: withDefault, op: auth.Create,
		obj: &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Value: 8},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Priority{Classes: &objects[*schedulingv1.PriorityClass]{items: tt.classes}}
			r := &auth.AdmissionRequest{Operation: tt.op, Name: "p", Object: tt.obj}
			err := p.Mutate(context.Background(), r)
			if err == nil {
				err = p.Admit(context.Background(), r)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			pod, ok := tt.obj.(*corev1.Pod)
			if err != nil || !ok {
				return
			}
			if tt.op != auth.Create {
				if pod.Spec.Priority != nil || pod.Spec.PriorityClassName != tt.wantClass {
					t.Errorf("an update changed the pod: %+v", pod.Spec)
				}
				return
			}
			if pod.Spec.PriorityClassName != tt.wantClass || pod.Spec.Priority == nil || *pod.Spec.Priority != tt.wantPriority ||
				pod.Spec.PreemptionPolicy == nil || *pod.Spec.PreemptionPolicy != tt.wantPolicy {
				t.Errorf("class %q priority %v policy %v, want %q %d %s", pod.Spec.PriorityClassName, pod.Spec.Priority, pod.Spec.PreemptionPolicy,
					tt.wantClass, tt.wantPriority, tt.wantPolicy)
			}
		})
	}
}
