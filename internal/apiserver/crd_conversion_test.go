package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/testca"
)

// hostPortConverter answers ConversionReviews for upstream's e2e
// example: v1 spec.hostPort "host:port" is v2 spec.host and spec.port.
// mode makes it misbehave.
type hostPortConverter struct {
	mode atomic.Value // string
}

func (c *hostPortConverter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := c.mode.Load().(string)
	if mode == "garbage" {
		_, _ = w.Write([]byte("<html>not a review</html>"))
		return
	}
	var review apiextensionsv1.ConversionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID}
	resp.Result.Status = metav1.StatusSuccess
	if mode == "failure" {
		resp.Result.Status, resp.Result.Message = metav1.StatusFailure, "refusing to convert today"
	}
	to := review.Request.DesiredAPIVersion
	for _, raw := range review.Request.Objects {
		obj := map[string]interface{}{}
		_ = json.Unmarshal(raw.Raw, &obj)
		spec, _ := obj["spec"].(map[string]interface{})
		if spec == nil {
			spec = map[string]interface{}{}
		}
		if hp, ok := spec["hostPort"].(string); ok && strings.HasSuffix(to, "/v2") {
			host, port, _ := net.SplitHostPort(hp)
			delete(spec, "hostPort")
			spec["host"], spec["port"] = host, port
		} else if host, ok := spec["host"].(string); ok && strings.HasSuffix(to, "/v1") {
			port, _ := spec["port"].(string)
			delete(spec, "host")
			delete(spec, "port")
			spec["hostPort"] = net.JoinHostPort(host, port)
		}
		obj["spec"], obj["apiVersion"] = spec, to
		md, _ := obj["metadata"].(map[string]interface{})
		switch mode {
		case "wrongversion":
			obj["apiVersion"] = "stable.example.com/v3"
		case "rename":
			md["name"] = "renamed"
		case "relabel":
			md["labels"] = map[string]interface{}{"converted": "true"}
			md["finalizers"] = []interface{}{"example.com/sneaky"}
		}
		b, _ := json.Marshal(obj)
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: b})
	}
	review.Request, review.Response = nil, resp
	_ = json.NewEncoder(w).Encode(review)
}

func hostPortWebhookCRD(url string, ca []byte) *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	schemaOf := func(props map[string]apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceValidation {
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: props}}}}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-test-crds.stable.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "stable.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "e2e-test-crds", Singular: "e2e-test-crd", Kind: "E2eTestCrd", ListKind: "E2eTestCrdList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schemaOf(map[string]apiextensionsv1.JSONSchemaProps{"hostPort": str})},
				{Name: "v2", Served: true, Schema: schemaOf(map[string]apiextensionsv1.JSONSchemaProps{"host": str, "port": str})},
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{ConversionReviewVersions: []string{"v1", "v1beta1"},
					ClientConfig: &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: ca}}},
		},
	}
}

func hostPortObject(version, name string, spec map[string]interface{}) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "stable.example.com/" + version, "kind": "E2eTestCrd",
		"metadata": map[string]interface{}{"name": name, "labels": map[string]interface{}{"app": "conv"}},
		"spec":     spec,
	}}
}

func TestCustomResourceConversionWebhook(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ca, cert := testca.Serving(t, "127.0.0.1")
	conv := &hostPortConverter{}
	ts := httptest.NewUnstartedServer(conv)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	createCRD(t, ext, hostPortWebhookCRD(ts.URL+"/convert", ca), established)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	v1 := dyn.Resource(schema.GroupVersionResource{Group: "stable.example.com", Version: "v1", Resource: "e2e-test-crds"}).Namespace("default")
	v2 := dyn.Resource(schema.GroupVersionResource{Group: "stable.example.com", Version: "v2", Resource: "e2e-test-crds"}).Namespace("default")

	w, err := v2.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch v2: %v", err)
	}
	defer w.Stop()
	// Created in v1, read in v2; created in v2, stored (and read) in v1.
	if _, err := v1.Create(ctx, hostPortObject("v1", "a", map[string]interface{}{"hostPort": "localhost:8080"}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create in v1: %v", err)
	}
	created, err := v2.Create(ctx, hostPortObject("v2", "b", map[string]interface{}{"host": "example", "port": "80"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create in v2: %v", err)
	}
	if got, _, _ := unstructured.NestedString(created.Object, "spec", "host"); got != "example" || created.GetAPIVersion() != "stable.example.com/v2" {
		t.Errorf("create in v2 answered %v", created.Object)
	}
	specOf := func(u *unstructured.Unstructured) map[string]interface{} {
		m, _, _ := unstructured.NestedMap(u.Object, "spec")
		return m
	}
	reads := []struct {
		name string
		get  func() (*unstructured.Unstructured, error)
		want map[string]interface{}
	}{
		{"a in v2", func() (*unstructured.Unstructured, error) { return v2.Get(ctx, "a", metav1.GetOptions{}) }, map[string]interface{}{"host": "localhost", "port": "8080"}},
		{"a in v1", func() (*unstructured.Unstructured, error) { return v1.Get(ctx, "a", metav1.GetOptions{}) }, map[string]interface{}{"hostPort": "localhost:8080"}},
		{"b in v1", func() (*unstructured.Unstructured, error) { return v1.Get(ctx, "b", metav1.GetOptions{}) }, map[string]interface{}{"hostPort": "example:80"}},
		{"b in v2", func() (*unstructured.Unstructured, error) { return v2.Get(ctx, "b", metav1.GetOptions{}) }, map[string]interface{}{"host": "example", "port": "80"}},
	}
	for _, rd := range reads {
		got, err := rd.get()
		if err != nil {
			t.Errorf("%s: %v", rd.name, err)
			continue
		}
		if g, w := specOf(got), rd.want; len(g) != len(w) || g[keyOf(w)] != w[keyOf(w)] || g["port"] != w["port"] {
			t.Errorf("%s: spec %v, want %v", rd.name, g, w)
		}
	}
	list, err := v2.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list v2: %v, %v", list, err)
	}
	for _, it := range list.Items {
		if it.GetAPIVersion() != "stable.example.com/v2" || specOf(&it)["host"] == nil {
			t.Errorf("list v2 item %v", it.Object)
		}
	}
	for seen := 0; seen < 2; {
		select {
		case ev := <-w.ResultChan():
			u, ok := ev.Object.(*unstructured.Unstructured)
			if ev.Type != watch.Added || !ok || specOf(u)["host"] == nil || u.GetAPIVersion() != "stable.example.com/v2" {
				t.Fatalf("watch v2 event %s %v", ev.Type, ev.Object)
			}
			seen++
		case <-time.After(10 * time.Second):
			t.Fatal("watch v2: no events")
		}
	}
	if out := s.MustKubectl("get", "e2e-test-crds.v2.stable.example.com", "a", "-o", "jsonpath={.spec.host} {.spec.port}"); out != "localhost 8080" {
		t.Errorf("kubectl get in v2: %q", out)
	}
	if out := s.MustKubectl("get", "e2e-test-crds.v1.stable.example.com", "b", "-o", "jsonpath={.spec.hostPort}"); out != "example:80" {
		t.Errorf("kubectl get in v1: %q", out)
	}

	// A misbehaving webhook fails the v2 reads and writes with a 500
	// naming the reason; v1, the storage version, keeps working.
	const prefix = "Internal error occurred: conversion webhook for stable.example.com/v1, Kind=E2eTestCrd "
	bad := []struct {
		mode, want string
	}{
		{"garbage", prefix + "failed: decode ConversionReview"},
		{"wrongversion", prefix + "returned invalid object at index 0: invalid groupVersion (expected stable.example.com/v2, received stable.example.com/v3)"},
		{"rename", prefix + "returned invalid object: must have the same name: a != renamed"},
		{"failure", prefix + "failed: refusing to convert today"},
	}
	for _, tc := range bad {
		t.Run(tc.mode, func(t *testing.T) {
			conv.mode.Store(tc.mode)
			defer conv.mode.Store("")
			_, err := v2.Get(ctx, "a", metav1.GetOptions{})
			if !apierrors.IsInternalError(err) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("get in v2: %v, want a 500 %q", err, tc.want)
			}
			if _, err := v2.List(ctx, metav1.ListOptions{}); !apierrors.IsInternalError(err) {
				t.Errorf("list in v2: %v, want a 500", err)
			}
			_, err = v2.Create(ctx, hostPortObject("v2", "c-"+tc.mode, map[string]interface{}{"host": "h", "port": "1"}), metav1.CreateOptions{})
			if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "conversion webhook for stable.example.com/v2, Kind=E2eTestCrd") {
				t.Errorf("create in v2: %v, want a 500", err)
			}
			if got, err := v1.Get(ctx, "a", metav1.GetOptions{}); err != nil || specOf(got)["hostPort"] != "localhost:8080" {
				t.Errorf("get in v1 (storage): %v, %v", got, err)
			}
			if _, err := v1.Create(ctx, hostPortObject("v1", "d-"+tc.mode, map[string]interface{}{"hostPort": "h:1"}), metav1.CreateOptions{}); err != nil {
				t.Errorf("create in v1 (storage): %v", err)
			}
			if _, err := v1.List(ctx, metav1.ListOptions{}); err != nil {
				t.Errorf("list in v1 (storage): %v", err)
			}
		})
	}

	// Labels a webhook changes are kept; the rest of metadata is not.
	conv.mode.Store("relabel")
	got, err := v2.Get(ctx, "a", metav1.GetOptions{})
	conv.mode.Store("")
	if err != nil {
		t.Fatalf("get in v2 through a relabelling webhook: %v", err)
	}
	if got.GetLabels()["converted"] != "true" || got.GetLabels()["app"] != "" || len(got.GetFinalizers()) != 0 {
		t.Errorf("relabelled metadata %v", got.Object["metadata"])
	}

	// An unreachable webhook: upstream's message, a 500.
	dead := httptest.NewUnstartedServer(nil)
	deadURL := "https://" + dead.Listener.Addr().String() + "/convert"
	dead.Listener.Close()
	crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "e2e-test-crds.stable.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crd.Spec.Conversion.Webhook.ClientConfig.URL = &deadURL
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("point the CRD at a dead webhook: %v", err)
	}
	want := prefix + `failed: Post "` + deadURL + `?timeout=30s": dial tcp ` + dead.Listener.Addr().String() + ": connect: connection refused"
	eventually(t, "unreachable webhook", 10*time.Second, func() error {
		_, err := v2.Get(ctx, "a", metav1.GetOptions{})
		if !apierrors.IsInternalError(err) || err.Error() != want {
			return errString("get in v2: " + errText(err) + ", want a 500 " + want)
		}
		return nil
	})
	if _, err := v1.Get(ctx, "a", metav1.GetOptions{}); err != nil {
		t.Errorf("get in v1 (storage) with the webhook down: %v", err)
	}
}

func keyOf(m map[string]interface{}) string {
	if _, ok := m["host"]; ok {
		return "host"
	}
	return "hostPort"
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
