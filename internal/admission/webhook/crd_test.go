package webhook_test

import (
	"context"
	"testing"

	regv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestCustomResource: custom objects (Unstructured in the server) go
// through the same mutating and validating webhooks as built-in kinds.
func TestCustomResource(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(srv.Config)
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "crontabs.stable.example.com"},
		"spec": map[string]any{
			"group": "stable.example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object",
					"properties": map[string]any{"spec": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	ns := namespace(t, srv.Client, "crs")
	h := hookFor("mutate.example.com", ws.URL+"/mutate", ws.caBundle(), ns, regv1.Fail, 10)
	h.Rules[0].Rule = regv1.Rule{APIGroups: []string{"stable.example.com"}, APIVersions: []string{"v1"}, Resources: []string{"crontabs"}}
	m := &regv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "crs"}, Webhooks: []regv1.MutatingWebhook{{
		Name: h.Name, ClientConfig: h.ClientConfig, Rules: h.Rules, NamespaceSelector: h.NamespaceSelector,
		FailurePolicy: h.FailurePolicy, SideEffects: h.SideEffects, TimeoutSeconds: h.TimeoutSeconds, AdmissionReviewVersions: h.AdmissionReviewVersions,
	}}}
	if _, err := srv.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crontabs := dyn.Resource(schema.GroupVersionResource{Group: "stable.example.com", Version: "v1", Resource: "crontabs"}).Namespace(ns)
	obj := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "stable.example.com/v1", "kind": "CronTab",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"cronSpec": "* * * * */5"},
		}}
	}
	waitFor(t, "the webhook to label crontabs", func() bool {
		got, err := crontabs.Create(ctx, obj("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && got.GetLabels()["mutated"] == "yes"
	})
	if _, err := crontabs.Create(ctx, obj("my"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := crontabs.Get(ctx, "my", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetLabels()["mutated"] != "yes" {
		t.Errorf("stored labels %v", got.GetLabels())
	}
	if spec, _, _ := unstructured.NestedString(got.Object, "spec", "cronSpec"); spec != "* * * * */5" {
		t.Errorf("spec lost: %v", got.Object["spec"])
	}
	seen := ws.seen("/mutate")
	if last := seen[len(seen)-1]; last.Kind.Group != "stable.example.com" || last.Kind.Kind != "CronTab" || last.Resource.Resource != "crontabs" {
		t.Errorf("webhook saw %v %v", last.Kind, last.Resource)
	}
}

// TestEquivalentVersion: webhooks whose rules name only v1 of a custom
// resource served as v1 and v2 (stored) see a v2 write in v1 when their
// matchPolicy is Equivalent (the default): the object converted, kind and
// resource v1's, requestKind and requestResource v2's. A mutating one's
// patch is defaulted in v1 (shade's default exists only there) and comes
// back in v2. With matchPolicy Exact they are not called.
func TestEquivalentVersion(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(srv.Config)
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	version := func(name string, storage bool, shade map[string]any) map[string]any {
		return map[string]any{"name": name, "served": true, "storage": storage,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
				"spec": map[string]any{"type": "object", "properties": map[string]any{"size": map[string]any{"type": "string"}, "shade": shade}}}}}}
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "gadgets.stable.example.com"},
		"spec": map[string]any{
			"group": "stable.example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
			"versions": []any{
				// Stored as v2, which has no default: reads add none.
				version("v2", true, map[string]any{"type": "string"}),
				version("v1", false, map[string]any{"type": "string", "default": "dark"}),
			},
		},
	}}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	ns := namespace(t, srv.Client, "equivalent")
	mutating := func(name, path string, policy regv1.MatchPolicyType) regv1.MutatingWebhook {
		h := hookFor(name, ws.URL+path, ws.caBundle(), ns, regv1.Fail, 10)
		return regv1.MutatingWebhook{Name: h.Name, ClientConfig: h.ClientConfig, NamespaceSelector: h.NamespaceSelector,
			Rules: []regv1.RuleWithOperations{{Operations: []regv1.OperationType{regv1.Create},
				Rule: regv1.Rule{APIGroups: []string{"stable.example.com"}, APIVersions: []string{"v1"}, Resources: []string{"gadgets"}}}},
			MatchPolicy: &policy, FailurePolicy: h.FailurePolicy, SideEffects: h.SideEffects, TimeoutSeconds: h.TimeoutSeconds,
			AdmissionReviewVersions: h.AdmissionReviewVersions}
	}
	m := &regv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "gadgets"}, Webhooks: []regv1.MutatingWebhook{
		mutating("mutate.example.com", "/mutate", regv1.Equivalent),
		mutating("second.example.com", "/second", regv1.Exact),
	}}
	if _, err := srv.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gadgets := dyn.Resource(schema.GroupVersionResource{Group: "stable.example.com", Version: "v2", Resource: "gadgets"}).Namespace(ns)
	obj := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "stable.example.com/v2", "kind": "Gadget",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"size": "L"},
		}}
	}
	waitFor(t, "the webhook to label gadgets", func() bool {
		got, err := gadgets.Create(ctx, obj("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && got.GetLabels()["mutated"] == "yes"
	})
	if _, err := gadgets.Create(ctx, obj("my"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := gadgets.Get(ctx, "my", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAPIVersion() != "stable.example.com/v2" || got.GetLabels()["mutated"] != "yes" || got.GetLabels()["second"] != "" {
		t.Errorf("stored %s with labels %v: want v2, mutated by the Equivalent webhook only", got.GetAPIVersion(), got.GetLabels())
	}
	if shade, _, _ := unstructured.NestedString(got.Object, "spec", "shade"); shade != "dark" {
		t.Errorf("spec.shade = %q, want v1's default dark applied after the webhook's patch: %v", shade, got.Object["spec"])
	}
	if size, _, _ := unstructured.NestedString(got.Object, "spec", "size"); size != "L" {
		t.Errorf("spec lost: %v", got.Object["spec"])
	}
	seen := ws.seen("/mutate")
	last := seen[len(seen)-1]
	if last.Kind.Version != "v1" || last.Resource.Version != "v1" || last.RequestKind == nil || last.RequestKind.Version != "v2" ||
		last.RequestResource == nil || last.RequestResource.Version != "v2" {
		t.Errorf("webhook saw kind %v resource %v, request kind %v resource %v; want v1, v1, v2, v2", last.Kind, last.Resource, last.RequestKind, last.RequestResource)
	}
	var sent unstructured.Unstructured
	if err := sent.UnmarshalJSON(last.Object.Raw); err != nil || sent.GetAPIVersion() != "stable.example.com/v1" {
		t.Errorf("webhook got the object as %q (%v), want stable.example.com/v1", sent.GetAPIVersion(), err)
	}
	if len(ws.seen("/second")) != 0 {
		t.Error("the Exact webhook on v1 was called for a v2 write")
	}
}
