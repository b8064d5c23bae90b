package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestCustomParams: a ValidatingAdmissionPolicy and a
// MutatingAdmissionPolicy whose paramKind is a CRD's kind read their
// params from custom objects, and a mutating policy's apply
// configuration changes custom objects, merged with the CRD's schema.
func TestCustomParams(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "limits.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "limits", Singular: "limit", Kind: "Limit", ListKind: "LimitList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{
				OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
					"spec": {Type: "object", XPreserveUnknownFields: &preserve, Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"maxItems": {Type: "integer"},
						"owner":    {Type: "string"},
					}},
				}},
			}}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	limits := dyn.Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "limits"})
	s.MustKubectl("create", "namespace", "custom")
	param := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "example.com/v1", "kind": "Limit",
		"metadata": map[string]interface{}{"name": "max"},
		"spec":     map[string]interface{}{"maxItems": int64(2), "owner": "ops"},
	}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := limits.Namespace("custom").Create(ctx, param, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create the param: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	paramKind := &admissionregistrationv1.ParamKind{APIVersion: "example.com/v1", Kind: "Limit"}
	paramRef := &admissionregistrationv1.ParamRef{Name: "max", ParameterNotFoundAction: ptr(admissionregistrationv1.DenyAction)}
	rules := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{"CREATE"},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}}}}
	ar := s.Client.AdmissionregistrationV1()
	if _, err := ar.ValidatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "max-items"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind: paramKind, MatchConstraints: rules,
			Validations: []admissionregistrationv1.Validation{{
				Expression:        "size(object.data) <= params.spec.maxItems",
				MessageExpression: "'at most ' + string(params.spec.maxItems) + ' items'",
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "max-items"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "max-items", ParamRef: paramRef, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "custom"}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.MutatingAdmissionPolicies().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "owner"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			ParamKind: paramKind, MatchConstraints: rules, ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
				Expression: `Object{metadata: Object.metadata{labels: {"owner": params.spec.owner}}}`,
			}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.MutatingAdmissionPolicyBindings().Create(ctx, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "owner"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName: "owner", ParamRef: paramRef,
			MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "custom"}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	big := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Data: map[string]string{"a": "1", "b": "2", "c": "3"}}
	deadline = time.Now().Add(20 * time.Second)
	for {
		_, err := s.Client.CoreV1().ConfigMaps("custom").Create(ctx, big, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "at most 2 items") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 items with a Limit of 2: %v, want refused with the param's limit", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		cm, err := s.Client.CoreV1().ConfigMaps("custom").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "small"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("1 item: %v", err)
		}
		if cm.Labels["owner"] == "ops" {
			break
		}
		if err := s.Client.CoreV1().ConfigMaps("custom").Delete(ctx, "small", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("labels %v, want owner=ops from the custom param", cm.Labels)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
