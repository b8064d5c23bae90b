package replicaset

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

var rsLabels = map[string]string{"app": "hello", "pod-template-hash": "5d8f7c9b4"}

// newReplicaSet is what the deployment controller creates, defaulted.
func newReplicaSet() *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-5d8f7c9b4", Namespace: "default", Labels: rsLabels},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: new(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: rsLabels},
			Template: PodTemplate(rsLabels, corev1.RestartPolicyAlways),
		},
	}
	Default(rs)
	return rs
}

func TestDefault(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", rs.Spec.Replicas)
	}
	if rs := newReplicaSet(); *rs.Spec.Replicas != 3 {
		t.Errorf("set replicas changed to %d", *rs.Spec.Replicas)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(rs *appsv1.ReplicaSet)
		want   []Err
	}{
		{"valid", func(rs *appsv1.ReplicaSet) {}, nil},
		{"negative replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = new(int32(-2)) }, []Err{Invalid("spec.replicas")}},
		{"negative minReadySeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -5 }, []Err{Invalid("spec.minReadySeconds")}},
		{"no selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			[]Err{Required("spec.selector"), Invalid("spec.template.metadata.labels")}},
		{"empty selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} }, []Err{Invalid("spec.selector")}},
		{"mismatch", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = map[string]string{"app": "hello"} },
			[]Err{Invalid("spec.template.metadata.labels")}},
		{"bad operator", func(rs *appsv1.ReplicaSet) {
			rs.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Like"}}
		}, []Err{Invalid("spec.selector.matchExpressions[0].operator"), Invalid("spec.selector")}},
		{"restartPolicy OnFailure", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			[]Err{NotSupported("spec.template.spec.restartPolicy")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplicaSet()
			tt.mutate(rs)
			Expect(t, Validate(rs), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newReplicaSet()
	scaled := old.DeepCopy()
	scaled.Spec.Replicas = new(int32(0))
	Expect(t, ValidateUpdate(scaled, old))

	moved := old.DeepCopy()
	moved.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hello"}}
	Expect(t, ValidateUpdate(moved, old), Invalid("spec.selector"))
}

func TestValidateStatus(t *testing.T) {
	Expect(t, ValidateStatus(&appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2}, nil))
	Expect(t, ValidateStatus(&appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: -1, ObservedGeneration: -1}, nil),
		Invalid("fullyLabeledReplicas"), Invalid("availableReplicas"), Invalid("observedGeneration"))
}

func TestFieldsAndScale(t *testing.T) {
	rs := newReplicaSet()
	rs.Status.Replicas = 2
	r := Resource()
	if got := r.SelectableFields(rs)["status.replicas"]; got != "2" {
		t.Errorf("status.replicas field %q, want 2", got)
	}
	spec, status, sel := r.Scale.Get(rs)
	if spec != 3 || status != 2 || sel != "app=hello,pod-template-hash=5d8f7c9b4" {
		t.Errorf("scale %d %d %q", spec, status, sel)
	}
}

func TestTable(t *testing.T) {
	rs := newReplicaSet()
	rs.CreationTimestamp = metav1.NewTime(time.Now().Add(-2 * time.Hour))
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}
	row, err := Resource().Table.Row(rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"hello-5d8f7c9b4", int64(3), int64(3), int64(1), "120m", "web", "nginx:1.27", "app=hello,pod-template-hash=5d8f7c9b4"}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	empty := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	if row, _ := Resource().Table.Row(empty); row[1] != int64(0) || row[7] != "<none>" {
		t.Errorf("empty replica set row %v", row)
	}
}
