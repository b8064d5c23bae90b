package apiserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestCustomResourceDefaultingOnRead is upstream's conformance spec
// "custom resource defaulting for requests and from storage works": a
// default added to a CRD shows on objects stored before it, in get,
// list and watch (and through another served version), and removing a
// default does not take the value away from objects that got it.
func TestCustomResourceDefaultingOnRead(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	dyn := dynamic.NewForConfigOrDie(s.Config)

	props := map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "string"}, "b": {Type: "string"}}
	version := func(name string, storage bool) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{Name: name, Served: true, Storage: storage,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: props}}}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "noxus.defaults.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "defaults.example.com", Scope: apiextensionsv1.ClusterScoped,
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "noxus", Singular: "noxu", Kind: "Noxu", ListKind: "NoxuList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{version("v1", true), version("v1beta1", false)},
		},
	}
	createCRD(t, ext, crd, established)
	gvr := schema.GroupVersionResource{Group: "defaults.example.com", Version: "v1", Resource: "noxus"}
	cr := dyn.Resource(gvr)
	beta := dyn.Resource(schema.GroupVersionResource{Group: gvr.Group, Version: "v1beta1", Resource: gvr.Resource})
	newCR := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "defaults.example.com/v1", "kind": "Noxu", "metadata": map[string]interface{}{"name": name}}}
	}
	u1, err := cr.Create(ctx, newCR("cr-1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found := u1.Object["a"]; found {
		t.Fatalf("created without a default: %v", u1.Object)
	}
	list, err := cr.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cr.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	patchCRD := func(patch string) {
		t.Helper()
		if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, crd.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("patch CRD: %v", err)
		}
	}
	field := func(u *unstructured.Unstructured, name string) string {
		v, _ := u.Object[name].(string)
		return v
	}
	patchCRD(`[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/a/default","value":"A"}]`)
	eventually(t, "cr-1 defaulted on get", 10*time.Second, func() error {
		u, err := cr.Get(ctx, "cr-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := field(u, "a"); got != "A" {
			return fmt.Errorf("a = %q, want A", got)
		}
		return nil
	})
	if list, err = cr.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 1 || field(&list.Items[0], "a") != "A" {
		t.Errorf("list after the default: %v %v", list, err)
	}
	// The storage version's defaults apply before conversion to another
	// served version (whose schema has none).
	if u, err := beta.Get(ctx, "cr-1", metav1.GetOptions{}); err != nil || field(u, "a") != "A" || u.GetAPIVersion() != "defaults.example.com/v1beta1" {
		t.Errorf("v1beta1 get: %v %v", u, err)
	}
	// A watch sees the default in events of objects stored without it.
	if _, err := cr.Patch(ctx, "cr-1", types.MergePatchType, []byte(`{"metadata":{"labels":{"seen":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		u, ok := ev.Object.(*unstructured.Unstructured)
		if ev.Type != watch.Modified || !ok || field(u, "a") != "A" {
			t.Errorf("watch event %s %v, want MODIFIED with a=A", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}

	u2, err := cr.Create(ctx, newCR("cr-2"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := field(u2, "a"); got != "A" {
		t.Errorf("created with the default: a = %q, want A", got)
	}
	patchCRD(`[{"op":"remove","path":"/spec/versions/0/schema/openAPIV3Schema/properties/a/default"},` +
		`{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/b/default","value":"B"}]`)
	eventually(t, "cr-2 defaulted on get for b", 10*time.Second, func() error {
		u, err := cr.Get(ctx, "cr-2", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := field(u, "b"); got != "B" {
			return fmt.Errorf("b = %q, want B", got)
		}
		if got := field(u, "a"); got != "A" {
			t.Fatalf("a = %q once its default went, want A kept", got)
		}
		return nil
	})
	// cr-1 was stored without a; it kept it only as a read default,
	// until the label patch wrote it.
	if u, err := cr.Get(ctx, "cr-1", metav1.GetOptions{}); err != nil || field(u, "a") != "A" || field(u, "b") != "B" {
		t.Errorf("cr-1 after the second change: %v %v", u, err)
	}
}
