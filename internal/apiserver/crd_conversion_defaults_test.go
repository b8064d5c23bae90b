package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/testca"
)

// startTLSWebhook serves h over HTTPS on loopback until the test ends;
// it returns the server's URL and the CA bundle that verifies it.
func startTLSWebhook(t *testing.T, h http.Handler) (string, []byte) {
	t.Helper()
	ca, cert := testca.Serving(t, "127.0.0.1")
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.URL, ca
}

// apiVersionConverter answers ConversionReviews by changing apiVersion
// only: the Webhook strategy doing what None does.
func apiVersionConverter(w http.ResponseWriter, r *http.Request) {
	var review apiextensionsv1.ConversionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for _, raw := range review.Request.Objects {
		obj := map[string]interface{}{}
		_ = json.Unmarshal(raw.Raw, &obj)
		obj["apiVersion"] = review.Request.DesiredAPIVersion
		b, _ := json.Marshal(obj)
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: b})
	}
	review.Request, review.Response = nil, resp
	_ = json.NewEncoder(w).Encode(review)
}

// widgetsCRD has v1 (stored) and v2 of group, whose defaults differ:
// color is red in v1 and blue in v2; legacy (v1 only) and size (v2 only)
// have defaults too. withDefaults false leaves every default out.
func widgetsCRD(group string, conversion *apiextensionsv1.CustomResourceConversion, withDefaults bool) *apiextensionsv1.CustomResourceDefinition {
	str := func(def string) apiextensionsv1.JSONSchemaProps {
		p := apiextensionsv1.JSONSchemaProps{Type: "string"}
		if withDefaults {
			p.Default = &apiextensionsv1.JSON{Raw: []byte(`"` + def + `"`)}
		}
		return p
	}
	version := func(name string, props map[string]apiextensionsv1.JSONSchemaProps) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{Name: name, Served: true, Storage: name == "v1",
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
				Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: props}}}}}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				version("v1", map[string]apiextensionsv1.JSONSchemaProps{"color": str("red"), "legacy": str("yes")}),
				version("v2", map[string]apiextensionsv1.JSONSchemaProps{"color": str("blue"), "size": str("large")}),
			},
			Conversion: conversion,
		},
	}
}

func widgetObject(group, version, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": group + "/" + version, "kind": "Widget",
		"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{},
	}}
}

// TestCustomResourceDefaultsAcrossVersions checks upstream's documented
// defaulting of a CRD whose versions have different defaults, for the
// None and the Webhook strategies: a request is defaulted in its
// version, an object read from etcd in the version it is stored in, and
// a converted object is not defaulted again in the version it is served
// in (so a default of a field the stored version lacks is pruned on the
// way to etcd, and does not come back).
func TestCustomResourceDefaultsAcrossVersions(t *testing.T) {
	s := clustertest.Start(t)
	base, ca := startTLSWebhook(t, http.HandlerFunc(apiVersionConverter))
	webhookURL := base + "/convert"
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	ctx := context.Background()

	for _, tc := range []struct {
		group string
		conv  *apiextensionsv1.CustomResourceConversion
	}{
		{"none.example.com", &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}},
		{"webhook.example.com", &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
			Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1"},
				ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &webhookURL, CABundle: ca}}}},
	} {
		t.Run(string(tc.conv.Strategy), func(t *testing.T) {
			g := tc.group
			createCRD(t, ext, widgetsCRD(g, tc.conv, false), established)
			in := func(version string) dynamic.ResourceInterface {
				return dyn.Resource(schema.GroupVersionResource{Group: g, Version: version, Resource: "widgets"}).Namespace("default")
			}
			// Stored before the CRD had defaults: its spec is empty in etcd.
			if _, err := in("v1").Create(ctx, widgetObject(g, "v1", "old"), metav1.CreateOptions{}); err != nil {
				t.Fatalf("create old in v1: %v", err)
			}
			crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets."+g, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			crd.Spec.Versions = widgetsCRD(g, tc.conv, true).Spec.Versions
			if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("add the defaults: %v", err)
			}
			eventually(t, "the defaults served", 10*time.Second, func() error {
				got, err := in("v1").Get(ctx, "old", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if c, _, _ := unstructured.NestedString(got.Object, "spec", "color"); c != "red" {
					return errString("old in v1 has color " + c)
				}
				return nil
			})

			red := map[string]interface{}{"color": "red"}
			redV1 := map[string]interface{}{"color": "red", "legacy": "yes"}
			blue := map[string]interface{}{"color": "blue"}
			blueV1 := map[string]interface{}{"color": "blue", "legacy": "yes"}
			steps := []struct {
				what string
				do   func() (*unstructured.Unstructured, error)
				want map[string]interface{}
			}{
				// Read from etcd: the stored version's (v1) defaults, then
				// converted; v2 does not add size, nor blue.
				{"get old in v1", func() (*unstructured.Unstructured, error) { return in("v1").Get(ctx, "old", metav1.GetOptions{}) }, redV1},
				{"get old in v2", func() (*unstructured.Unstructured, error) { return in("v2").Get(ctx, "old", metav1.GetOptions{}) }, red},
				// A request in v2 is defaulted in v2 (blue, size), stored
				// in v1 without size; its answer is read back as stored.
				{"create new2 in v2", func() (*unstructured.Unstructured, error) {
					return in("v2").Create(ctx, widgetObject(g, "v2", "new2"), metav1.CreateOptions{})
				}, blue},
				{"get new2 in v2", func() (*unstructured.Unstructured, error) { return in("v2").Get(ctx, "new2", metav1.GetOptions{}) }, blue},
				{"get new2 in v1", func() (*unstructured.Unstructured, error) { return in("v1").Get(ctx, "new2", metav1.GetOptions{}) }, blueV1},
				{"create new1 in v1", func() (*unstructured.Unstructured, error) {
					return in("v1").Create(ctx, widgetObject(g, "v1", "new1"), metav1.CreateOptions{})
				}, redV1},
				{"get new1 in v2", func() (*unstructured.Unstructured, error) { return in("v2").Get(ctx, "new1", metav1.GetOptions{}) }, red},
				// A patch in v2 starts from old as read (red), is defaulted
				// in v2 and stored in v1.
				{"patch old in v2", func() (*unstructured.Unstructured, error) {
					return in("v2").Patch(ctx, "old", types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{})
				}, red},
				{"update new1 in v2 without spec.color", func() (*unstructured.Unstructured, error) {
					cur, err := in("v2").Get(ctx, "new1", metav1.GetOptions{})
					if err != nil {
						return nil, err
					}
					unstructured.RemoveNestedField(cur.Object, "spec", "color")
					return in("v2").Update(ctx, cur, metav1.UpdateOptions{})
				}, blue},
			}
			for _, st := range steps {
				got, err := st.do()
				if err != nil {
					t.Errorf("%s: %v", st.what, err)
					continue
				}
				if spec, _, _ := unstructured.NestedMap(got.Object, "spec"); !reflect.DeepEqual(spec, st.want) {
					t.Errorf("%s: spec %v, want %v", st.what, spec, st.want)
				}
			}
			// Lists and watches read as gets do, a webhook's list in one
			// review included.
			wantList := map[string]map[string]interface{}{
				"v1": {"old": redV1, "new1": blueV1, "new2": blueV1},
				"v2": {"old": red, "new1": blue, "new2": blue},
			}
			for version, want := range wantList {
				list, err := in(version).List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatalf("list in %s: %v", version, err)
				}
				for _, it := range list.Items {
					if spec, _, _ := unstructured.NestedMap(it.Object, "spec"); !reflect.DeepEqual(spec, want[it.GetName()]) {
						t.Errorf("list in %s: %s has spec %v, want %v", version, it.GetName(), spec, want[it.GetName()])
					}
				}
			}
		})
	}
}

// colorRemover is a mutating admission webhook that removes spec.color.
func colorRemover(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	jsonPatch := admissionv1.PatchTypeJSONPatch
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true,
		Patch: []byte(`[{"op":"remove","path":"/spec/color"}]`), PatchType: &jsonPatch}
	review.Request = nil
	_ = json.NewEncoder(w).Encode(review)
}

// TestCustomResourceDefaultsAfterMutatingWebhook: what a mutating
// webhook removes is defaulted again, in the version the webhook was
// sent (the request's, here), before the object is stored.
func TestCustomResourceDefaultsAfterMutatingWebhook(t *testing.T) {
	s := clustertest.Start(t)
	base, ca := startTLSWebhook(t, http.HandlerFunc(colorRemover))
	ctx := context.Background()
	const g = "mutated.example.com"
	createCRD(t, apiextensionsclient.NewForConfigOrDie(s.Config), widgetsCRD(g, &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}, true), established)
	url, none, exact := base+"/mutate", admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Exact
	for _, version := range []string{"v1", "v2"} {
		m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "color-remover-" + version},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: version + ".color-remover.example.com",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
				Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{g}, APIVersions: []string{version}, Resources: []string{"widgets"}}}},
				MatchPolicy: &exact, SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}}}
		if _, err := s.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dyn := dynamic.NewForConfigOrDie(s.Config)
	green := func(version, name string) *unstructured.Unstructured {
		u := widgetObject(g, version, name)
		u.Object["spec"] = map[string]interface{}{"color": "green"}
		return u
	}
	for _, tc := range []struct{ version, want string }{{"v1", "red"}, {"v2", "blue"}} {
		widgets := dyn.Resource(schema.GroupVersionResource{Group: g, Version: tc.version, Resource: "widgets"}).Namespace("default")
		// The configurations take effect shortly after they are created.
		eventually(t, "the webhook in "+tc.version, 10*time.Second, func() error {
			got, err := widgets.Create(ctx, green(tc.version, "probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return err
			}
			if c, _, _ := unstructured.NestedString(got.Object, "spec", "color"); c == "green" {
				return errString("not mutated yet")
			}
			return nil
		})
		if _, err := widgets.Create(ctx, green(tc.version, "made-in-"+tc.version), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create in %s: %v", tc.version, err)
		}
		got, err := widgets.Get(ctx, "made-in-"+tc.version, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c, _, _ := unstructured.NestedString(got.Object, "spec", "color"); c != tc.want {
			t.Errorf("created in %s, the webhook removing spec.color: color %q, want %s's default %q", tc.version, c, tc.version, tc.want)
		}
	}
}
