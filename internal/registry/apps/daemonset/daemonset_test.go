package daemonset

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

var agentLabels = map[string]string{"name": "fluentd-elasticsearch"}

// newDaemonSet is the logging agent of upstream's DaemonSet docs.
func newDaemonSet() *appsv1.DaemonSet {
	t := PodTemplate(agentLabels, corev1.RestartPolicyAlways)
	t.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "fluentd-elasticsearch", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: agentLabels},
			Template: t,
		},
	}
	Default(ds)
	return ds
}

func TestDefault(t *testing.T) {
	ds := newDaemonSet()
	s := ds.Spec.UpdateStrategy
	if s.Type != appsv1.RollingUpdateDaemonSetStrategyType || s.RollingUpdate.MaxUnavailable.String() != "1" || s.RollingUpdate.MaxSurge.String() != "0" {
		t.Errorf("updateStrategy %+v", s)
	}
	if *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit %d", *ds.Spec.RevisionHistoryLimit)
	}
	onDelete := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}}
	Default(onDelete)
	if onDelete.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Errorf("OnDelete got a rollingUpdate")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet)
		want   []Err
	}{
		{"valid", func(ds *appsv1.DaemonSet) {}, nil},
		{"surge instead", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: new(intstr.FromInt32(0)), MaxSurge: new(intstr.FromString("10%"))}
		}, nil},
		{"OnDelete", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		}, nil},
		{"no selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil }, []Err{Invalid("spec.template.metadata.labels")}},
		{"empty selector", func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} }, []Err{Invalid("spec.selector")}},
		{"mismatch", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Labels = nil }, []Err{Invalid("spec.template.metadata.labels")}},
		{"restartPolicy", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			[]Err{NotSupported("spec.template.spec.restartPolicy")}},
		{"activeDeadlineSeconds", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(5)) },
			[]Err{Forbidden("spec.template.spec.activeDeadlineSeconds")}},
		{"negative minReadySeconds", func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = -1 }, []Err{Invalid("spec.minReadySeconds")}},
		{"bad strategy", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Recreate" }, []Err{NotSupported("spec.updateStrategy")}},
		{"no rollingUpdate", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = nil },
			[]Err{Required("spec.updateStrategy.rollingUpdate")}},
		{"both zero", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = new(intstr.FromString("0%"))
		},
			[]Err{Required("spec.updateStrategy.rollingUpdate.maxUnavailable")}},
		{"both set", func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = new(intstr.FromInt32(1)) },
			[]Err{Invalid("spec.updateStrategy.rollingUpdate.maxSurge")}},
		{"surge over 100%", func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: new(intstr.FromInt32(0)), MaxSurge: new(intstr.FromString("110%"))}
		}, []Err{Invalid("spec.updateStrategy.rollingUpdate.maxSurge")}},
		{"negative revisionHistoryLimit", func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = new(int32(-1)) },
			[]Err{Invalid("spec.revisionHistoryLimit")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := newDaemonSet()
			tt.mutate(ds)
			Expect(t, Validate(ds), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newDaemonSet()
	ok := old.DeepCopy()
	ok.Spec.Template.Spec.Containers[0].Image = "fluentd:v2"
	Expect(t, ValidateUpdate(ok, old))
	moved := old.DeepCopy()
	moved.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"name": "fluentd-elasticsearch", "v": "2"}}
	moved.Spec.Template.Labels = moved.Spec.Selector.MatchLabels
	Expect(t, ValidateUpdate(moved, old), Invalid("spec.selector"))
}

func TestTemplateGeneration(t *testing.T) {
	r := Resource()
	ctx := context.Background()
	ds := newDaemonSet()
	r.Hooks.PrepareForCreate(ctx, ds)
	if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Fatalf("template generation on create %q, want 1", got)
	}
	// Scaling-like changes outside the template keep it; users cannot set it.
	same := ds.DeepCopy()
	same.Spec.MinReadySeconds = 5
	same.Annotations[appsv1.DeprecatedTemplateGeneration] = "42"
	r.Hooks.PrepareForUpdate(ctx, same, ds)
	if got := same.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Errorf("template generation %q after a non-template change, want 1", got)
	}
	changed := ds.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "fluentd:v2"
	r.Hooks.PrepareForUpdate(ctx, changed, ds)
	if got := changed.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "2" {
		t.Errorf("template generation %q after a template change, want 2", got)
	}
}

func TestStatus(t *testing.T) {
	old := newDaemonSet()
	old.Status.CollisionCount = new(int32(3))
	ok := old.DeepCopy()
	ok.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 1, CollisionCount: new(int32(3))}
	Expect(t, ValidateStatusUpdate(ok, old))
	bad := old.DeepCopy()
	bad.Status = appsv1.DaemonSetStatus{NumberReady: -1, NumberUnavailable: -2, CollisionCount: new(int32(2))}
	Expect(t, ValidateStatusUpdate(bad, old), Invalid("status.numberReady"), Invalid("status.numberUnavailable"), Invalid("status.collisionCount"))
}

func TestTable(t *testing.T) {
	ds := newDaemonSet()
	ds.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * 24 * time.Hour))
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}
	row, err := Resource().Table.Row(ds)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"fluentd-elasticsearch", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "3d",
		"web", "nginx:1.27", "name=fluentd-elasticsearch"}
	if len(row) != len(want) || len(row) != len(Resource().Table.Columns) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	ds.Spec.Template.Spec.NodeSelector = nil
	if row, _ := Resource().Table.Row(ds); row[6] != "<none>" {
		t.Errorf("node selector cell %q, want <none>", row[6])
	}
}
