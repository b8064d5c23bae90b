package customresource

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
)

// hostPortWebhook converts upstream's e2e example: v1 spec.hostPort
// "host:port" is v2 spec.host and spec.port. change, if set, alters each
// converted object (a misbehaving webhook).
func hostPortWebhook(t *testing.T, change func(review *apiextensionsv1.ConversionReview, obj map[string]interface{})) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID}
		resp.Result.Status = "Success"
		for _, raw := range review.Request.Objects {
			obj := map[string]interface{}{}
			if err := json.Unmarshal(raw.Raw, &obj); err != nil {
				t.Errorf("webhook: object %s: %v", raw.Raw, err)
			}
			spec, _ := obj["spec"].(map[string]interface{})
			if spec == nil {
				spec = map[string]interface{}{}
			}
			if hp, ok := spec["hostPort"].(string); ok && strings.HasSuffix(review.Request.DesiredAPIVersion, "/v2") {
				host, port, _ := net.SplitHostPort(hp)
				delete(spec, "hostPort")
				spec["host"], spec["port"] = host, port
			} else if host, ok := spec["host"].(string); ok && strings.HasSuffix(review.Request.DesiredAPIVersion, "/v1") {
				port, _ := spec["port"].(string)
				delete(spec, "host")
				delete(spec, "port")
				spec["hostPort"] = net.JoinHostPort(host, port)
			}
			obj["spec"] = spec
			obj["apiVersion"] = review.Request.DesiredAPIVersion
			if change != nil {
				change(&review, obj)
			}
			b, _ := json.Marshal(obj)
			resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: b})
		}
		review.Response, review.Request = resp, nil
		_ = json.NewEncoder(w).Encode(review)
	}
}

func hostPortCRD(url string, ca []byte) *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	schemaOf := func(props map[string]apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceValidation {
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: props}}}}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.Name = "e2e-test-crds.stable.example.com"
	crd.Spec = apiextensionsv1.CustomResourceDefinitionSpec{
		Group: "stable.example.com", Scope: apiextensionsv1.NamespaceScoped,
		Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
			{Name: "v1", Served: true, Storage: true, Schema: schemaOf(map[string]apiextensionsv1.JSONSchemaProps{"hostPort": str})},
			{Name: "v2", Served: true, Schema: schemaOf(map[string]apiextensionsv1.JSONSchemaProps{"host": str, "port": str})},
		},
		Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
			Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v2", "v1"},
				ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: ca}}},
	}
	crd.Status.AcceptedNames = apiextensionsv1.CustomResourceDefinitionNames{Plural: "e2e-test-crds", Singular: "e2e-test-crd", Kind: "E2eTestCrd"}
	return crd
}

func TestWebhookConversion(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/good", hostPortWebhook(t, nil))
	mux.Handle("/garbage", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>hi</html>")) }))
	mux.Handle("/error", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "broken", http.StatusInternalServerError) }))
	mux.Handle("/wrongversion", hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) {
		obj["apiVersion"] = "stable.example.com/v3"
	}))
	mux.Handle("/wrongkind", hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) { obj["kind"] = "Other" }))
	mux.Handle("/rename", hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) {
		obj["metadata"].(map[string]interface{})["name"] = "other"
	}))
	mux.Handle("/relabel", hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) {
		md := obj["metadata"].(map[string]interface{})
		md["labels"] = map[string]interface{}{"converted": "yes"}
		md["generation"] = int64(99)
		md["finalizers"] = []interface{}{"example.com/sneaky"}
	}))
	mux.Handle("/badlabel", hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) {
		obj["metadata"].(map[string]interface{})["labels"] = map[string]interface{}{"bad key!": "x"}
	}))
	mux.Handle("/refuse", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		_ = json.NewDecoder(r.Body).Decode(&review)
		review.Response = &apiextensionsv1.ConversionResponse{UID: review.Request.UID}
		review.Response.Result.Status, review.Response.Result.Message = "Failure", "hostPort is not host:port"
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	mux.Handle("/wronguid", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		_ = json.NewDecoder(r.Body).Decode(&review)
		review.Response = &apiextensionsv1.ConversionResponse{UID: "not-yours"}
		review.Response.Result.Status = "Success"
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	dead := httptest.NewUnstartedServer(nil)
	deadURL := "https://" + dead.Listener.Addr().String() + "/"
	dead.Listener.Close()

	stored := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "stable.example.com/v1", "kind": "E2eTestCrd",
			"metadata": map[string]interface{}{"name": "cr", "namespace": "default", "uid": "u-1", "generation": int64(1),
				"labels": map[string]interface{}{"app": "x"}},
			"spec": map[string]interface{}{"hostPort": "localhost:8080"},
		}}
	}
	const gvk = "conversion webhook for stable.example.com/v1, Kind=E2eTestCrd"
	cases := []struct {
		name, url string
		wantErr   string // substring; "" converts
		check     func(t *testing.T, got *unstructured.Unstructured)
	}{
		{name: "converts", url: ts.URL + "/good", check: func(t *testing.T, got *unstructured.Unstructured) {
			spec, _, _ := unstructured.NestedMap(got.Object, "spec")
			if got.GetAPIVersion() != "stable.example.com/v2" || spec["host"] != "localhost" || spec["port"] != "8080" || spec["hostPort"] != nil {
				t.Errorf("converted to %v", got.Object)
			}
		}},
		{name: "labels kept, other metadata restored", url: ts.URL + "/relabel", check: func(t *testing.T, got *unstructured.Unstructured) {
			if got.GetLabels()["converted"] != "yes" || got.GetLabels()["app"] != "" || got.GetGeneration() != 1 || len(got.GetFinalizers()) != 0 {
				t.Errorf("metadata %v", got.Object["metadata"])
			}
		}},
		{name: "unreachable", url: deadURL, wantErr: gvk + " failed: Post \"" + deadURL + "?timeout=30s\": dial tcp"},
		{name: "garbage", url: ts.URL + "/garbage", wantErr: gvk + " failed: decode ConversionReview"},
		{name: "http error", url: ts.URL + "/error", wantErr: gvk + " failed: the server responded with the status code 500: broken"},
		{name: "wrong apiVersion", url: ts.URL + "/wrongversion", wantErr: gvk + " returned invalid object at index 0: invalid groupVersion (expected stable.example.com/v2, received stable.example.com/v3)"},
		{name: "wrong kind", url: ts.URL + "/wrongkind", wantErr: gvk + " returned invalid object at index 0: invalid kind (expected E2eTestCrd, received Other)"},
		{name: "renamed", url: ts.URL + "/rename", wantErr: gvk + " returned invalid object: must have the same name: cr != other"},
		{name: "invalid label", url: ts.URL + "/badlabel", wantErr: gvk + " returned invalid metadata: metadata.labels: Invalid value: \"bad key!\""},
		{name: "status Failure", url: ts.URL + "/refuse", wantErr: gvk + " failed: hostPort is not host:port"},
		{name: "wrong uid", url: ts.URL + "/wronguid", wantErr: gvk + " failed: expected response.uid="},
	}
	hooks := NewWebhooks(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ResourceWith(hostPortCRD(tc.url, ca), "v2", hooks)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Convert.FromStorage(context.Background(), stored())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got.(*unstructured.Unstructured))
		})
	}
}

// TestWebhookConversionRoundTrip writes in v2 (to storage: hostPort)
// and leaves objects already in the desired version alone.
func TestWebhookConversionRoundTrip(t *testing.T) {
	r, calls := countedHostPortResource(t, "v2")
	in := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "stable.example.com/v2", "kind": "E2eTestCrd",
		"metadata": map[string]interface{}{"name": "cr", "namespace": "default"},
		"spec":     map[string]interface{}{"host": "example", "port": "80", "unknown": "pruned"},
	}}
	out, err := r.Convert.ToStorage(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(out.(*unstructured.Unstructured).Object, "spec")
	if want := map[string]interface{}{"hostPort": "example:80"}; out.GetObjectKind().GroupVersionKind().Version != "v1" || len(spec) != 1 || spec["hostPort"] != want["hostPort"] {
		t.Errorf("stored %v", out)
	}
	if _, err := r.Convert.FromStorage(context.Background(), in); err != nil || *calls != 1 {
		t.Errorf("an object in v2 converted to v2: err %v, %d webhook calls, want 1", err, *calls)
	}
}

// TestWebhookConversionList: a list's items go in one review, those in
// the desired version already left out; a bad item names its index.
func TestWebhookConversionList(t *testing.T) {
	var sent []int
	rename := false
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var review apiextensionsv1.ConversionReview
		_ = json.Unmarshal(body, &review)
		sent = append(sent, len(review.Request.Objects))
		r.Body = io.NopCloser(bytes.NewReader(body))
		hostPortWebhook(t, func(_ *apiextensionsv1.ConversionReview, obj map[string]interface{}) {
			if md := obj["metadata"].(map[string]interface{}); rename && md["name"] == "c" {
				md["name"] = "z"
			}
		})(w, r)
	}))
	t.Cleanup(ts.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	r, err := ResourceWith(hostPortCRD(ts.URL, ca), "v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	item := func(version, name string, spec map[string]interface{}) runtime.Object {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "stable.example.com/" + version, "kind": "E2eTestCrd",
			"metadata": map[string]interface{}{"name": name}, "spec": spec}}
	}
	list := []runtime.Object{
		item("v1", "a", map[string]interface{}{"hostPort": "a:1"}),
		item("v2", "b", map[string]interface{}{"host": "b", "port": "2"}),
		item("v1", "c", map[string]interface{}{"hostPort": "c:3"}),
	}
	out, err := r.Convert.FromStorageAll(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a", "b", "c"} {
		u := out[i].(*unstructured.Unstructured)
		if host, _, _ := unstructured.NestedString(u.Object, "spec", "host"); host != want || u.GetName() != want || u.GetAPIVersion() != "stable.example.com/v2" {
			t.Errorf("item %d: %v", i, u.Object)
		}
	}
	if len(sent) != 1 || sent[0] != 2 {
		t.Errorf("reviews sent with %v objects, want one with 2", sent)
	}
	rename = true
	want := "conversion webhook for stable.example.com/v1, Kind=E2eTestCrdList returned invalid converted object at index 1: must have the same name: c != z"
	if _, err := r.Convert.FromStorageAll(context.Background(), list); err == nil || err.Error() != want {
		t.Errorf("renaming webhook: %v, want %q", err, want)
	}
}

// TestWebhookConversionStorageVersion: the storage version's objects
// stored in another version (before the storage version changed) are
// converted too; those in the storage version are not sent.
func TestWebhookConversionStorageVersion(t *testing.T) {
	r, calls := countedHostPortResource(t, "v1")
	old := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "stable.example.com/v2", "kind": "E2eTestCrd",
		"metadata": map[string]interface{}{"name": "old"}, "spec": map[string]interface{}{"host": "h", "port": "9"}}}
	got, err := r.Convert.FromStorage(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if hp, _, _ := unstructured.NestedString(got.(*unstructured.Unstructured).Object, "spec", "hostPort"); hp != "h:9" || *calls != 1 {
		t.Errorf("read in v1: %v after %d calls", got, *calls)
	}
	if _, err := r.Convert.ToStorage(context.Background(), got); err != nil || *calls != 1 {
		t.Errorf("write in v1 (the storage version): err %v, %d webhook calls, want 1", err, *calls)
	}
}

// countedHostPortResource is the hostPort CRD's resource served in
// version, converting through a webhook on loopback; calls counts the
// webhook's calls.
func countedHostPortResource(t *testing.T, version string) (*registry.Resource, *int) {
	t.Helper()
	calls := new(int)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		hostPortWebhook(t, nil)(w, r)
	}))
	t.Cleanup(ts.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	r, err := ResourceWith(hostPortCRD(ts.URL, ca), version, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, calls
}
