package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// widgets are served in v1beta1 and v1, stored in v1; the versions'
// schemas are the same (the None conversion).
var widgetVersions = []string{"v1beta1", "v1"}

func widgetGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apply.example.com", Version: version, Resource: "widgets"}
}

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	port := apiextensionsv1.JSONSchemaProps{Type: "object", Required: []string{"containerPort", "protocol"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"containerPort": {Type: "integer", Format: "int32"},
		"protocol":      {Type: "string"},
		"name":          {Type: "string"},
	}}
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"foo":      {Type: "string"},
				"bar":      {Type: "string"},
				"replicas": {Type: "integer"},
				"ports": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &port},
					XListType: ptrTo("map"), XListMapKeys: []string{"containerPort", "protocol"}},
			}},
			"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"ready": {Type: "boolean"}}},
		},
	}}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.apply.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "apply.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget"},
		},
	}
	for _, v := range widgetVersions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: v == "v1", Schema: schema.DeepCopy(),
			Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
		})
	}
	return crd
}

// widget is an applied configuration of a widget in version.
func widget(version, name string, spec map[string]interface{}) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apply.example.com/" + version, "kind": "Widget",
		"metadata": map[string]interface{}{"name": name, "namespace": "default"},
		"spec":     spec,
	}}
}

// owners lists each manager's operation, apiVersion and owned spec
// fields: "mgr Apply apply.example.com/v1: foo,ports".
func owners(t *testing.T, obj *unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, m := range obj.GetManagedFields() {
		var fields map[string]map[string]interface{}
		if m.FieldsV1 != nil {
			if err := json.Unmarshal(m.FieldsV1.Raw, &fields); err != nil {
				t.Fatalf("managedFields of %s: %v", m.Manager, err)
			}
		}
		var spec []string
		for f := range fields["f:spec"] {
			spec = append(spec, strings.TrimPrefix(f, "f:"))
		}
		sort.Strings(spec)
		out = append(out, fmt.Sprintf("%s %s %s: %s", m.Manager, m.Operation, m.APIVersion, strings.Join(spec, ",")))
	}
	sort.Strings(out)
	return out
}

// TestServerSideApplyCustomResourceVersions: server-side apply through a
// CRD version that is not the storage version works as upstream's: it
// creates and updates, managers who applied in different versions
// conflict (the conflict names the other's version) until one forces,
// keyed lists merge across versions, dry runs store nothing, and each
// version reads the result.
func TestServerSideApplyCustomResourceVersions(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	createCRD(t, ext, widgetCRD(), established)
	widgets := func(version string) dynamic.ResourceInterface {
		return dyn.Resource(widgetGVR(version)).Namespace("default")
	}
	// read returns the widget as each version serves it.
	read := func(t *testing.T, name string) map[string]*unstructured.Unstructured {
		t.Helper()
		out := map[string]*unstructured.Unstructured{}
		for _, v := range widgetVersions {
			got, err := widgets(v).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get %s in %s: %v", name, v, err)
			}
			if got.GetAPIVersion() != "apply.example.com/"+v {
				t.Errorf("get in %s: apiVersion %s", v, got.GetAPIVersion())
			}
			out[v] = got
		}
		return out
	}
	specOf := func(obj *unstructured.Unstructured) string {
		b, _ := json.Marshal(obj.Object["spec"])
		return string(b)
	}

	t.Run("kubectl creates and updates in v1beta1", func(t *testing.T) {
		manifest := func(foo string, replicas int) string {
			return fmt.Sprintf("apiVersion: apply.example.com/v1beta1\nkind: Widget\nmetadata:\n  name: k\nspec:\n  foo: %s\n  replicas: %d\n", foo, replicas)
		}
		out, err := s.KubectlStdin(strings.NewReader(manifest("one", 1)), "apply", "--server-side", "-f", "-")
		if err != nil || !strings.Contains(out, "widget.apply.example.com/k serverside-applied") {
			t.Fatalf("kubectl apply --server-side (create): %q %v", out, err)
		}
		// A second apply with replicas gone from it removes replicas:
		// the manager's previous apply in v1beta1 is what is compared.
		out, err = s.KubectlStdin(strings.NewReader(strings.Replace(manifest("two", 1), "  replicas: 1\n", "", 1)), "apply", "--server-side", "-f", "-")
		if err != nil || !strings.Contains(out, "serverside-applied") {
			t.Fatalf("kubectl apply --server-side (update): %q %v", out, err)
		}
		for v, got := range read(t, "k") {
			if spec := specOf(got); spec != `{"foo":"two"}` {
				t.Errorf("read in %s: spec %s, want {\"foo\":\"two\"}", v, spec)
			}
			if o := owners(t, got); len(o) != 1 || o[0] != "kubectl Apply apply.example.com/v1beta1: foo" {
				t.Errorf("read in %s: managers %q, want kubectl's apply in v1beta1 owning foo", v, o)
			}
		}
		if out := s.MustKubectl("get", "widgets.v1beta1.apply.example.com", "k", "-o", "jsonpath={.apiVersion} {.spec.foo}"); out != "apply.example.com/v1beta1 two" {
			t.Errorf("kubectl get in v1beta1: %q", out)
		}
	})

	t.Run("conflicts between versions", func(t *testing.T) {
		// mgr-a sets foo in one version, by apply or by an update (a merge
		// patch); mgr-b applies another foo in the other version. The
		// conflict names mgr-a as upstream's does: an updater with the
		// version it used.
		for _, tc := range []struct{ op, first, second, conflict string }{
			{"apply", "v1beta1", "v1", `conflict with "mgr-a": .spec.foo`},
			{"apply", "v1", "v1beta1", `conflict with "mgr-a": .spec.foo`},
			{"update", "v1beta1", "v1", `conflict with "mgr-a" using apply.example.com/v1beta1: .spec.foo`},
			{"update", "v1", "v1beta1", `conflict with "mgr-a" using apply.example.com/v1: .spec.foo`},
		} {
			t.Run(tc.op+" in "+tc.first+" then apply in "+tc.second, func(t *testing.T) {
				name := "c-" + tc.op + "-" + tc.first + "-" + tc.second
				op := "Apply"
				switch tc.op {
				case "apply":
					if _, err := widgets(tc.first).Apply(ctx, name, widget(tc.first, name, map[string]interface{}{"foo": "a"}), metav1.ApplyOptions{FieldManager: "mgr-a"}); err != nil {
						t.Fatalf("apply by mgr-a in %s: %v", tc.first, err)
					}
				case "update":
					op = "Update"
					// Applied once, so that updates are tracked.
					if _, err := widgets(tc.first).Apply(ctx, name, widget(tc.first, name, map[string]interface{}{"replicas": int64(1)}), metav1.ApplyOptions{FieldManager: "creator"}); err != nil {
						t.Fatal(err)
					}
					if _, err := widgets(tc.first).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"foo":"a"}}`), metav1.PatchOptions{FieldManager: "mgr-a"}); err != nil {
						t.Fatalf("patch by mgr-a in %s: %v", tc.first, err)
					}
				}
				b := widget(tc.second, name, map[string]interface{}{"foo": "b", "bar": "b"})
				_, err := widgets(tc.second).Apply(ctx, name, b, metav1.ApplyOptions{FieldManager: "mgr-b"})
				if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), tc.conflict) {
					t.Fatalf("apply by mgr-b in %s: %v, want 409 %s", tc.second, err, tc.conflict)
				}
				if got := read(t, name)[tc.first]; !strings.Contains(specOf(got), `"foo":"a"`) {
					t.Errorf("a conflicting apply changed the object: spec %s", specOf(got))
				}
				if o := owners(t, read(t, name)["v1"]); !contains(o, "mgr-a "+op+" apply.example.com/"+tc.first+": foo") {
					t.Errorf("managers before the forced apply %q, want mgr-a's %s in %s owning foo", o, op, tc.first)
				}
				if _, err := widgets(tc.second).Apply(ctx, name, b, metav1.ApplyOptions{FieldManager: "mgr-b", Force: true}); err != nil {
					t.Fatalf("forced apply by mgr-b in %s: %v", tc.second, err)
				}
				for v, got := range read(t, name) {
					if spec := specOf(got); !strings.Contains(spec, `"bar":"b","foo":"b"`) {
						t.Errorf("read in %s: spec %s", v, spec)
					}
					o := owners(t, got)
					if !contains(o, "mgr-b Apply apply.example.com/"+tc.second+": bar,foo") {
						t.Errorf("read in %s: managers %q, want mgr-b's apply in %s owning bar and foo", v, o, tc.second)
					}
					for _, m := range o {
						if strings.HasPrefix(m, "mgr-a ") && strings.Contains(m, "foo") {
							t.Errorf("read in %s: mgr-a still owns foo: %q", v, o)
						}
					}
				}
			})
		}
	})

	t.Run("keyed list merges across versions", func(t *testing.T) {
		port := func(n int64, name string) map[string]interface{} {
			return map[string]interface{}{"containerPort": n, "protocol": "TCP", "name": name}
		}
		if _, err := widgets("v1beta1").Apply(ctx, "ports", widget("v1beta1", "ports", map[string]interface{}{"ports": []interface{}{port(80, "http")}}), metav1.ApplyOptions{FieldManager: "old"}); err != nil {
			t.Fatal(err)
		}
		if _, err := widgets("v1").Apply(ctx, "ports", widget("v1", "ports", map[string]interface{}{"ports": []interface{}{port(443, "https")}}), metav1.ApplyOptions{FieldManager: "new"}); err != nil {
			t.Fatalf("apply of another port in v1: %v", err)
		}
		// The v1beta1 manager gives its port up: only the other's stays.
		if _, err := widgets("v1beta1").Apply(ctx, "ports", widget("v1beta1", "ports", map[string]interface{}{}), metav1.ApplyOptions{FieldManager: "old"}); err != nil {
			t.Fatal(err)
		}
		for v, got := range read(t, "ports") {
			if spec := specOf(got); spec != `{"ports":[{"containerPort":443,"name":"https","protocol":"TCP"}]}` {
				t.Errorf("read in %s: spec %s, want only port 443", v, spec)
			}
		}
	})

	t.Run("schemas that differ", func(t *testing.T) {
		// gadgets: v1 (stored) declares spec.size, v1beta1 spec.legacy;
		// a version shows and stores only what its schema declares, as
		// upstream prunes after converting, and apply through either
		// version works.
		crd := widgetCRD()
		crd.Name, crd.Spec.Names = "gadgets.apply.example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget"}
		only := map[string]string{"v1": "size", "v1beta1": "legacy"}
		for i, v := range crd.Spec.Versions {
			crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"].Properties[only[v.Name]] = apiextensionsv1.JSONSchemaProps{Type: "string"}
		}
		createCRD(t, ext, crd, established)
		gadgets := func(version string) dynamic.ResourceInterface {
			return dyn.Resource(schema.GroupVersionResource{Group: "apply.example.com", Version: version, Resource: "gadgets"}).Namespace("default")
		}
		gadget := func(version string, spec map[string]interface{}) *unstructured.Unstructured {
			g := widget(version, "g", spec)
			g.SetKind("Gadget")
			return g
		}
		if _, err := gadgets("v1").Apply(ctx, "g", gadget("v1", map[string]interface{}{"foo": "a", "size": "big"}), metav1.ApplyOptions{FieldManager: "new"}); err != nil {
			t.Fatalf("apply in v1: %v", err)
		}
		if _, err := gadgets("v1beta1").Apply(ctx, "g", gadget("v1beta1", map[string]interface{}{"bar": "b", "legacy": "old"}), metav1.ApplyOptions{FieldManager: "old"}); err != nil {
			t.Fatalf("apply in v1beta1: %v", err)
		}
		for v, want := range map[string]string{"v1": `{"bar":"b","foo":"a"`, "v1beta1": `{"bar":"b","foo":"a"}`} {
			got, err := gadgets(v).Get(ctx, "g", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if spec := specOf(got); !strings.HasPrefix(spec, want) || strings.Contains(spec, "legacy") {
				t.Errorf("read in %s: spec %s, want %s... without legacy (v1 does not store it)", v, spec, want)
			}
		}
	})

	t.Run("dry run", func(t *testing.T) {
		if _, err := widgets("v1beta1").Apply(ctx, "dry", widget("v1beta1", "dry", map[string]interface{}{"foo": "stored"}), metav1.ApplyOptions{FieldManager: "m"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, version string
			exists        bool
		}{
			{"dry", "v1beta1", true},
			{"dry-new", "v1beta1", false},
			{"dry", "v1", true},
		} {
			got, err := widgets(tc.version).Apply(ctx, tc.name, widget(tc.version, tc.name, map[string]interface{}{"foo": "dry"}),
				metav1.ApplyOptions{FieldManager: "m", Force: true, DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Fatalf("dry-run apply of %s in %s: %v", tc.name, tc.version, err)
			}
			if got.GetAPIVersion() != "apply.example.com/"+tc.version || specOf(got) != `{"foo":"dry"}` {
				t.Errorf("dry-run apply of %s in %s answered %s %s", tc.name, tc.version, got.GetAPIVersion(), specOf(got))
			}
			stored, err := widgets("v1").Get(ctx, tc.name, metav1.GetOptions{})
			switch {
			case !tc.exists && !apierrors.IsNotFound(err):
				t.Errorf("dry-run apply of %s stored it: %v", tc.name, err)
			case tc.exists && (err != nil || specOf(stored) != `{"foo":"stored"}`):
				t.Errorf("dry-run apply of %s in %s changed it: %v %v", tc.name, tc.version, err, stored)
			}
		}
	})
}
