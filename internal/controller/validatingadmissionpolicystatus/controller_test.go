package validatingadmissionpolicystatus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/controller/validatingadmissionpolicystatus"
)

// TestTypeChecking: a policy whose expression compares a deployment's
// replicas (an integer) with a string gets upstream's warning in
// status.typeChecking, a well-typed one none, and each its
// observedGeneration.
func TestTypeChecking(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) { o.Controllers = []string{validatingadmissionpolicystatus.Name} })
	ctx := context.Background()
	policy := func(name, expr string) *admissionregistrationv1.ValidatingAdmissionPolicy {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{"CREATE"},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}}},
				Validations: []admissionregistrationv1.Validation{{Expression: expr}},
			},
		}
	}
	cases := []struct {
		name, expr string
		warning    string // "" for none
	}{
		{"ill-typed", "object.spec.replicas > '1'", "apps/v1, Kind=Deployment: ERROR: <input>:1:22: found no matching overload for '_>_' applied to '(int, string)'"},
		{"well-typed", "object.spec.replicas > 1", ""},
	}
	for _, tc := range cases {
		if _, err := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy(tc.name, tc.expr), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			deadline := time.Now().Add(20 * time.Second)
			for {
				p, err := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, tc.name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if p.Status.ObservedGeneration == p.Generation && p.Status.TypeChecking != nil {
					ws := p.Status.TypeChecking.ExpressionWarnings
					switch {
					case tc.warning == "" && len(ws) != 0:
						t.Errorf("warnings %+v, want none", ws)
					case tc.warning != "" && (len(ws) != 1 || ws[0].FieldRef != "spec.validations[0].expression" || !strings.Contains(ws[0].Warning, tc.warning)):
						t.Errorf("warnings %+v, want one on spec.validations[0].expression containing %q", ws, tc.warning)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("status after 20s: %+v", p.Status)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
