package resourcequota

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestDefaultRoundsUp(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: list("requests.cpu", "0.0001")}}
	Default(q)
	if got := q.Spec.Hard[corev1.ResourceRequestsCPU]; got.String() != "1m" {
		t.Errorf("requests.cpu = %s, want 1m", got.String())
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec corev1.ResourceQuotaSpec
		want []string
	}{
		{"compute", corev1.ResourceQuotaSpec{Hard: list("pods", "10", "requests.cpu", "4", "requests.memory", "8Gi", "limits.cpu", "8", "limits.memory", "16Gi", "count/deployments.apps", "5", "requests.nvidia.com/gpu", "2")}, nil},
		{"objects", corev1.ResourceQuotaSpec{Hard: list("configmaps", "10", "services.loadbalancers", "1", "services.nodeports", "2", "persistentvolumeclaims", "4", "requests.storage", "100Gi")}, nil},
		{"negative", corev1.ResourceQuotaSpec{Hard: list("pods", "-1")}, []string{"FieldValueInvalid spec.hard[pods]"}},
		{"fractional count", corev1.ResourceQuotaSpec{Hard: list("pods", "1.5")}, []string{"FieldValueInvalid spec.hard[pods]"}},
		{"unknown resource", corev1.ResourceQuotaSpec{Hard: list("gpus", "1")}, []string{"FieldValueInvalid spec.hard[gpus]", "FieldValueInvalid spec.hard[gpus]"}},
		{"plain storage", corev1.ResourceQuotaSpec{Hard: list("storage", "1Gi")}, []string{"FieldValueInvalid spec.hard[storage]"}},
		{"scoped", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}, nil},
		{"scope does not fit", corev1.ResourceQuotaSpec{Hard: list("pods", "5", "requests.cpu", "1"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}, []string{"FieldValueInvalid spec.scopes"}},
		{"conflicting scopes", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}}, []string{"FieldValueInvalid spec.scopes"}},
		{"unknown scope", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{"Weekend"}}, []string{"FieldValueInvalid spec.scopes"}},
		{"priority class selector", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}}, nil},
		{"selector without values", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn}}}}, []string{"FieldValueRequired spec.scopeSelector.matchExpressions.values"}},
		{"best effort must use Exists", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpIn, Values: []string{"x"}}}}}, []string{"FieldValueInvalid spec.scopeSelector.matchExpressions.operator"}},
		{"bad operator", corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: "Like"}}}}, []string{"FieldValueInvalid spec.scopeSelector.matchExpressions.operator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: tc.spec}
			if got := errKeys(Validate(q)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateUpdateScopesImmutable(t *testing.T) {
	old := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{"Terminating"}}}
	q := old.DeepCopy()
	q.Spec.Hard = list("pods", "6")
	if errs := ValidateUpdate(q, old); len(errs) != 0 {
		t.Errorf("changing hard: %v", errs)
	}
	q.Spec.Scopes = []corev1.ResourceQuotaScope{"NotTerminating"}
	if got := errKeys(ValidateUpdate(q, old)); !reflect.DeepEqual(got, []string{"FieldValueInvalid spec.scopes"}) {
		t.Errorf("changing scopes: %v", got)
	}
}

func TestValidateStatus(t *testing.T) {
	q := &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Hard: list("pods", "5"), Used: list("pods", "-1")}}
	if got := errKeys(ValidateStatus(q)); !reflect.DeepEqual(got, []string{"FieldValueInvalid status.used[pods]"}) {
		t.Errorf("errors = %v", got)
	}
}

func TestWarnings(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: list("cpu", "4", "limits.cpu", "2", "requests.memory", "1Gi", "limits.memory", "2Gi")}}
	want := []string{"ResourceQuota cpu (4) should be less than limits.cpu (2)"}
	if got := Warnings(q); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings = %v, want %v", got, want)
	}
}

func TestContainerResourceName(t *testing.T) {
	for name, want := range map[corev1.ResourceName]int{
		"cpu": 0, "memory": 0, "hugepages-2Mi": 0, "nvidia.com/gpu": 0,
		"pods": 1, "bogus": 2, "requests.example.com/x": 1,
	} {
		if got := len(ValidateContainerResourceName(name, field.NewPath("r"))); got != want {
			t.Errorf("%s: %d errors, want %d", name, got, want)
		}
	}
}

func TestTable(t *testing.T) {
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "compute", CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Second))},
		Status: corev1.ResourceQuotaStatus{
			Hard: list("pods", "10", "requests.cpu", "1", "limits.memory", "2Gi", "limits.cpu", "2"),
			Used: list("pods", "1", "requests.cpu", "250m", "limits.cpu", "500m"),
		},
	}
	row, err := Resource().Table.Row(q)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"compute", "pods: 1/10, requests.cpu: 250m/1", "limits.cpu: 500m/2, limits.memory: 0/2Gi", "10s"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %q, want %q", row, want)
	}
}
