package deployment

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

var appLabels = map[string]string{"app": "hello"}

// newDeployment is what `kubectl create deployment hello --image=nginx`
// sends, after the server's defaults.
func newDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: appLabels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: appLabels},
			Template: PodTemplate(appLabels, corev1.RestartPolicyAlways),
		},
	}
	Default(d)
	return d
}

func TestDefault(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: PodTemplate(appLabels, corev1.RestartPolicyAlways)}}
	Default(d)
	if *d.Spec.Replicas != 1 || *d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("replicas/revisionHistoryLimit/progressDeadlineSeconds = %d/%d/%d, want 1/10/600",
			*d.Spec.Replicas, *d.Spec.RevisionHistoryLimit, *d.Spec.ProgressDeadlineSeconds)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Fatalf("strategy %q, want RollingUpdate", d.Spec.Strategy.Type)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.String() != "25%" {
		t.Errorf("maxSurge/maxUnavailable = %s/%s, want 25%%/25%%", ru.MaxSurge.String(), ru.MaxUnavailable.String())
	}

	// Set values and a Recreate strategy are kept as they are.
	r := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: new(int32(0)),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
	}}
	Default(r)
	if *r.Spec.Replicas != 0 || r.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("replicas %d rollingUpdate %v: want 0 and nil", *r.Spec.Replicas, r.Spec.Strategy.RollingUpdate)
	}
	p := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: new(intstr.FromInt32(3))},
	}}}
	Default(p)
	if p.Spec.Strategy.RollingUpdate.MaxSurge.String() != "3" || p.Spec.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" {
		t.Errorf("partial rollingUpdate defaulted to %+v", p.Spec.Strategy.RollingUpdate)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []Err
	}{
		{"valid", func(d *appsv1.Deployment) {}, nil},
		{"zero replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = new(int32(0)) }, nil},
		{"match expressions", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"hello", "world"}},
			}}
		}, nil},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = new(int32(-1)) }, []Err{Invalid("spec.replicas")}},
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			[]Err{Required("spec.selector"), Invalid("spec.template.metadata.labels")}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []Err{Invalid("spec.selector")}},
		{"selector does not match", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, []Err{Invalid("spec.template.metadata.labels")}},
		{"bad selector value", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "no spaces"}}
		}, []Err{Invalid("spec.selector.matchLabels"), Invalid("spec.selector")}},
		{"restartPolicy Never", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]Err{NotSupported("spec.template.spec.restartPolicy")}},
		{"activeDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(10)) },
			[]Err{Forbidden("spec.template.spec.activeDeadlineSeconds")}},
		{"Recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			[]Err{Forbidden("spec.strategy.rollingUpdate")}},
		{"Recreate", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}, nil},
		{"unknown strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []Err{NotSupported("spec.strategy")}},
		{"both zero", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = new(intstr.FromInt32(0))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = new(intstr.FromString("0%"))
		}, []Err{Invalid("spec.strategy.rollingUpdate.maxUnavailable")}},
		{"over 100%", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = new(intstr.FromString("150%"))
			d.Spec.Strategy.RollingUpdate.MaxSurge = new(intstr.FromString("200%"))
		}, []Err{Invalid("spec.strategy.rollingUpdate.maxUnavailable")}},
		{"bad percent", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = new(intstr.FromString("x%")) },
			[]Err{Invalid("spec.strategy.rollingUpdate.maxSurge")}},
		{"negative surge", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = new(intstr.FromInt32(-1)) },
			[]Err{Invalid("spec.strategy.rollingUpdate.maxSurge")}},
		{"negative minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -1 }, []Err{Invalid("spec.minReadySeconds")}},
		{"negative revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = new(int32(-1)) },
			[]Err{Invalid("spec.revisionHistoryLimit")}},
		{"progress deadline not above minReady", func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		}, []Err{Invalid("spec.progressDeadlineSeconds")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeployment()
			tt.mutate(d)
			Expect(t, Validate(d), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newDeployment()
	scaled := newDeployment()
	scaled.Spec.Replicas = new(int32(5))
	scaled.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	Expect(t, ValidateUpdate(scaled, old))

	moved := newDeployment()
	moved.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "hello", "tier": "web"}}
	moved.Spec.Template.Labels = map[string]string{"app": "hello", "tier": "web"}
	Expect(t, ValidateUpdate(moved, old), Invalid("spec.selector"))
}

func TestStatusUpdate(t *testing.T) {
	old := newDeployment()
	old.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, CollisionCount: new(int32(2))}
	ok := old.DeepCopy()
	ok.Status.UpdatedReplicas = 3
	Expect(t, ValidateStatusUpdate(ok, old))

	bad := old.DeepCopy()
	bad.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 3, UpdatedReplicas: -1, CollisionCount: new(int32(1))}
	Expect(t, ValidateStatusUpdate(bad, old),
		Invalid("status.updatedReplicas"), Invalid("status.readyReplicas"),
		Invalid("status.availableReplicas"), Invalid("status.availableReplicas"), Invalid("status.collisionCount"))

	// A status writer cannot relabel the deployment.
	r := Resource()
	relabeled := old.DeepCopy()
	relabeled.Labels = map[string]string{"hijacked": "yes"}
	r.StatusHooks.PrepareForUpdate(context.Background(), relabeled, old)
	if relabeled.Labels["app"] != "hello" || len(relabeled.Labels) != 1 {
		t.Errorf("status update changed labels to %v", relabeled.Labels)
	}
}

func TestGenerationOnAnnotationChange(t *testing.T) {
	old := newDeployment()
	old.Generation = 4
	d := old.DeepCopy()
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "rollout"}
	Resource().Hooks.PrepareForUpdate(context.Background(), d, old)
	if d.Generation != 5 {
		t.Errorf("generation %d after an annotation change, want 5", d.Generation)
	}
	same := old.DeepCopy()
	Resource().Hooks.PrepareForUpdate(context.Background(), same, old)
	if same.Generation != 4 {
		t.Errorf("generation %d without change, want 4", same.Generation)
	}
}

func TestScale(t *testing.T) {
	d := newDeployment()
	d.Status.Replicas = 2
	s := Resource().Scale
	spec, status, sel := s.Get(d)
	if spec != 1 || status != 2 || sel != "app=hello" {
		t.Errorf("Get = %d %d %q, want 1 2 app=hello", spec, status, sel)
	}
	s.Set(d, 7)
	if *d.Spec.Replicas != 7 {
		t.Errorf("Set: replicas %d", *d.Spec.Replicas)
	}
}

func TestWarnings(t *testing.T) {
	d := newDeployment()
	d.Name = "web.v2"
	w := Resource().Hooks.Warnings
	if got := w(context.Background(), d, nil); len(got) != 1 {
		t.Errorf("create warnings %q, want one about the name", got)
	}
	if got := w(context.Background(), d, d.DeepCopy()); len(got) != 0 {
		t.Errorf("update warnings %q, want none", got)
	}
	// The pod template's own warnings, when it changes.
	old := d.DeepCopy()
	d.Spec.Template.Spec.NodeSelector = map[string]string{"beta.kubernetes.io/os": "linux"}
	got := w(context.Background(), d, old)
	if len(got) != 1 || !strings.HasPrefix(got[0], "spec.template.spec.nodeSelector[beta.kubernetes.io/os]: ") {
		t.Errorf("template warnings %q", got)
	}
	if got := w(context.Background(), d, (*appsv1.Deployment)(nil)); len(got) != 2 {
		t.Errorf("create (typed nil old) warnings %q, want name and template", got)
	}
}

func TestTable(t *testing.T) {
	d := newDeployment()
	d.CreationTimestamp = metav1.NewTime(time.Now().Add(-5 * time.Minute))
	d.Spec.Replicas = new(int32(3))
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
	d.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}
	tbl := Resource().Table
	row, err := tbl.Row(d)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"hello", "2/3", int64(3), int64(2), "5m", "web,sidecar", "nginx:1.27,busybox", "app=hello"}
	if len(row) != len(tbl.Columns) {
		t.Fatalf("%d cells for %d columns", len(row), len(tbl.Columns))
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d (%s) = %#v, want %#v", i, tbl.Columns[i].Name, row[i], want[i])
		}
	}
	for i, c := range tbl.Columns {
		if wide := i >= 5; (c.Priority == 1) != wide {
			t.Errorf("column %s priority %d", c.Name, c.Priority)
		}
	}
}
