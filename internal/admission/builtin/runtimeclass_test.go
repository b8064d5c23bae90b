package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestRuntimeClass(t *testing.T) {
	overhead := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("120Mi")}
	other := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	gpu := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	gpuA := corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpEqual, Value: "a", Effect: corev1.TaintEffectNoSchedule}
	sandboxed := corev1.Toleration{Key: "sandboxed", Operator: corev1.TolerationOpEqual, Value: "yes", Effect: corev1.TaintEffectNoSchedule}
	classes := []*nodev1.RuntimeClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Handler: "runc"},
		{ObjectMeta: metav1.ObjectMeta{Name: "heavy"}, Handler: "kata", Overhead: &nodev1.Overhead{PodFixed: overhead}},
		{ObjectMeta: metav1.ObjectMeta{Name: "placed"}, Handler: "kata", Scheduling: &nodev1.Scheduling{
			NodeSelector: map[string]string{"sandbox": "kata"},
			Tolerations:  []corev1.Toleration{gpuA, sandboxed},
		}},
	}
	type podSpec struct {
		class    string
		overhead corev1.ResourceList
		selector map[string]string
		tols     []corev1.Toleration
	}
	pod := func(s podSpec) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Overhead: s.overhead, NodeSelector: s.selector, Tolerations: s.tols}}
		if s.class != "" {
			p.Spec.RuntimeClassName = &s.class
		}
		return p
	}
	tests := []struct {
		name         string
		op           string
		subresource  string
		validateOnly bool // as if a later plugin changed the pod after this one mutated it
		in, want     podSpec
		wantErr      string
	}{{
		name: "no class: nothing changes", op: auth.Create,
	}, {
		name: "a class with neither overhead nor scheduling", op: auth.Create,
		in: podSpec{class: "plain"}, want: podSpec{class: "plain"},
	}, {
		name: "the class's overhead is set", op: auth.Create,
		in: podSpec{class: "heavy"}, want: podSpec{class: "heavy", overhead: overhead},
	}, {
		name: "the same overhead as the class's may be given", op: auth.Create,
		in: podSpec{class: "heavy", overhead: overhead}, want: podSpec{class: "heavy", overhead: overhead},
	}, {
		name: "an overhead the class disagrees with", op: auth.Create,
		in:      podSpec{class: "heavy", overhead: other},
		wantErr: `pods "p" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`,
	}, {
		name: "an overhead changed after the mutating phase", op: auth.Create, validateOnly: true,
		in:      podSpec{class: "heavy", overhead: other},
		wantErr: `pods "p" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`,
	}, {
		name: "an overhead without a class", op: auth.Create,
		in:      podSpec{overhead: overhead},
		wantErr: `pods "p" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`,
	}, {
		name: "an unknown class", op: auth.Create,
		in:      podSpec{class: "nope"},
		wantErr: `pods "p" is forbidden: pod rejected: RuntimeClass "nope" not found`,
	}, {
		name: "the class's node selector and tolerations are added", op: auth.Create,
		in:   podSpec{class: "placed"},
		want: podSpec{class: "placed", selector: map[string]string{"sandbox": "kata"}, tols: []corev1.Toleration{gpuA, sandboxed}},
	}, {
		name: "merged with the pod's; a toleration the pod's covers is left out", op: auth.Create,
		in: podSpec{class: "placed", selector: map[string]string{"zone": "a", "sandbox": "kata"}, tols: []corev1.Toleration{gpu}},
		want: podSpec{class: "placed", selector: map[string]string{"zone": "a", "sandbox": "kata"},
			tols: []corev1.Toleration{gpu, sandboxed}},
	}, {
		name: "a node selector the class disagrees with", op: auth.Create,
		in:      podSpec{class: "placed", selector: map[string]string{"sandbox": "gvisor"}},
		wantErr: `pods "p" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = kata; pod.spec.nodeSelector[sandbox] = gvisor`,
	}, {
		name: "an update is left alone", op: auth.Update,
		in: podSpec{class: "nope", overhead: other}, want: podSpec{class: "nope", overhead: other},
	}, {
		name: "a subresource is left alone", op: auth.Create, subresource: "binding",
		in: podSpec{class: "nope"}, want: podSpec{class: "nope"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := RuntimeClass{Classes: &objects[*nodev1.RuntimeClass]{items: classes}}
			obj := pod(tt.in)
			r := &auth.AdmissionRequest{Operation: tt.op, Subresource: tt.subresource, Name: "p", Object: obj}
			var err error
			if !tt.validateOnly {
				err = p.Mutate(context.Background(), r)
			}
			if err == nil {
				err = p.Admit(context.Background(), r)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if want := pod(tt.want); !apiequality.Semantic.DeepEqual(obj.Spec, want.Spec) {
				t.Errorf("spec\n%+v\nwant\n%+v", obj.Spec, want.Spec)
			}
		})
	}
}
