package poddisruptionbudget

import (
	"context"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	fieldpath "k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

// newPDB is `kubectl create pdb zk-pdb --selector=app=zookeeper --min-available=2`.
func newPDB() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "zk-pdb", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: new(intstr.FromInt32(2)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "zookeeper"}},
		},
	}
}

func TestValidate(t *testing.T) {
	type P = policyv1.PodDisruptionBudget
	tests := []struct {
		name   string
		mutate func(p *P)
		want   []Err
	}{
		{"valid", func(p *P) {}, nil},
		{"percent", func(p *P) { p.Spec.MinAvailable = nil; p.Spec.MaxUnavailable = new(intstr.FromString("20%")) }, nil},
		{"neither bound", func(p *P) { p.Spec.MinAvailable = nil }, nil},
		{"empty selector", func(p *P) { p.Spec.Selector = &metav1.LabelSelector{} }, nil},
		{"eviction policy", func(p *P) { p.Spec.UnhealthyPodEvictionPolicy = new(policyv1.AlwaysAllow) }, nil},
		{"both bounds", func(p *P) { p.Spec.MaxUnavailable = new(intstr.FromInt32(1)) }, []Err{Invalid("spec")}},
		{"negative", func(p *P) { p.Spec.MinAvailable = new(intstr.FromInt32(-1)) }, []Err{Invalid("spec.minAvailable")}},
		{"over 100%", func(p *P) { p.Spec.MinAvailable = nil; p.Spec.MaxUnavailable = new(intstr.FromString("101%")) },
			[]Err{Invalid("spec.maxUnavailable")}},
		{"not a percent", func(p *P) { p.Spec.MinAvailable = new(intstr.FromString("half")) }, []Err{Invalid("spec.minAvailable")}},
		{"bad selector", func(p *P) { p.Spec.Selector.MatchLabels["app"] = "zoo keeper" }, []Err{Invalid("spec.selector.matchLabels")}},
		{"bad eviction policy", func(p *P) { p.Spec.UnhealthyPodEvictionPolicy = new(policyv1.UnhealthyPodEvictionPolicyType("Never")) },
			[]Err{NotSupported("spec.unhealthyPodEvictionPolicy")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPDB()
			tt.mutate(p)
			Expect(t, Validate(p), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	// Stored by an older server, which did not check expression values.
	old := newPDB()
	old.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"back end"}}}
	upd := old.DeepCopy()
	upd.Spec.MinAvailable = new(intstr.FromInt32(1))
	Expect(t, ValidateUpdate(upd, old))
	Expect(t, ValidateUpdate(upd, newPDB()), Invalid("spec.selector.matchExpressions[0].values[0]"))
}

func TestV1beta1Label(t *testing.T) {
	r := Resource()
	mixed := newPDB()
	mixed.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}}
	r.Hooks.PrepareForCreate(context.Background(), mixed)
	if len(mixed.Spec.Selector.MatchExpressions) != 0 {
		t.Errorf("label kept in a user selector: %v", mixed.Spec.Selector)
	}
	none := newPDB()
	none.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}}}
	r.Hooks.PrepareForCreate(context.Background(), none)
	if len(none.Spec.Selector.MatchExpressions) != 1 {
		t.Errorf("match-none selector changed: %v", none.Spec.Selector)
	}
	// An update that keeps the stored selector leaves it alone.
	kept := mixed.DeepCopy()
	kept.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}, {Key: "tier", Operator: metav1.LabelSelectorOpExists}}
	old := kept.DeepCopy()
	r.Hooks.PrepareForUpdate(context.Background(), kept, old)
	if len(kept.Spec.Selector.MatchExpressions) != 2 {
		t.Errorf("unchanged selector rewritten: %v", kept.Spec.Selector)
	}
}

func TestStatus(t *testing.T) {
	ok := policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionTrue, Reason: policyv1.SufficientPodsReason, LastTransitionTime: metav1.Now()}}}
	Expect(t, ValidateStatus(&ok, statusPath))
	bad := policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: -1, Conditions: []metav1.Condition{{Type: "DisruptionAllowed", Status: "Maybe"}}}
	Expect(t, ValidateStatus(&bad, statusPath),
		NotSupported("status.conditions[0].status"), Required("status.conditions[0].lastTransitionTime"),
		Required("status.conditions[0].reason"), Invalid("status.disruptionsAllowed"))
}

func TestTable(t *testing.T) {
	p := newPDB()
	p.CreationTimestamp = metav1.NewTime(time.Now().Add(-48 * time.Hour))
	p.Status.DisruptionsAllowed = 1
	row, err := Resource().Table.Row(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"zk-pdb", "2", "N/A", int64(1), "2d"}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	p.Spec.MinAvailable, p.Spec.MaxUnavailable = nil, new(intstr.FromString("10%"))
	if row, _ := Resource().Table.Row(p); row[1] != "N/A" || row[2] != "10%" {
		t.Errorf("row %v", row)
	}
}

var statusPath = fieldpath.NewPath("status")
