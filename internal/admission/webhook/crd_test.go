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
