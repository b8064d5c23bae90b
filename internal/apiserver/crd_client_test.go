package apiserver_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

var crontabs = schema.GroupVersionResource{Group: "stable.example.com", Version: "v1", Resource: "crontabs"}

func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile("testdata/crontab-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// createCRD creates crd and waits until its conditions satisfy ok.
func createCRD(t *testing.T, client apiextensionsclient.Interface, crd *apiextensionsv1.CustomResourceDefinition, ok func(*apiextensionsv1.CustomResourceDefinition) bool) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	ctx := context.Background()
	if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD %s: %v", crd.Name, err)
	}
	var got *apiextensionsv1.CustomResourceDefinition
	eventually(t, "CRD "+crd.Name+" status", 10*time.Second, func() error {
		var err error
		if got, err = client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		if !ok(got) {
			return errString("conditions " + conditions(got))
		}
		return nil
	})
	return got
}

func conditions(crd *apiextensionsv1.CustomResourceDefinition) string {
	var out []string
	for _, c := range crd.Status.Conditions {
		out = append(out, string(c.Type)+"="+string(c.Status)+"/"+c.Reason+": "+c.Message)
	}
	return strings.Join(out, "; ")
}

func condition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) apiextensionsv1.CustomResourceDefinitionCondition {
	for _, c := range crd.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return apiextensionsv1.CustomResourceDefinitionCondition{}
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	return condition(crd, apiextensionsv1.Established).Status == apiextensionsv1.ConditionTrue
}

func crontab(ns, name, app string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "stable.example.com/v1", "kind": "CronTab",
		"metadata": map[string]interface{}{"name": name, "namespace": ns, "labels": map[string]interface{}{"app": app}},
		"spec":     map[string]interface{}{"cronSpec": "* * * * */5", "replicas": int64(1)},
	}}
}

func TestCustomResourcesWithClientGo(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	dyn := dynamic.NewForConfigOrDie(s.Config)

	// Not established yet: the custom resource is not served.
	if _, err := dyn.Resource(crontabs).Namespace("default").List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("list before the CRD: %v, want 404", err)
	}
	createCRD(t, ext, loadCRD(t), established)

	w, err := dyn.Resource(crontabs).Watch(ctx, metav1.ListOptions{LabelSelector: "app=cron", FieldSelector: "metadata.namespace=default"})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	for _, ct := range []*unstructured.Unstructured{crontab("kube-system", "c", "cron"), crontab("default", "b", "other"), crontab("default", "a", "cron")} {
		if _, err := dyn.Resource(crontabs).Namespace(ct.GetNamespace()).Create(ctx, ct, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", ct.GetName(), err)
		}
	}
	select {
	case ev := <-w.ResultChan():
		u, ok := ev.Object.(*unstructured.Unstructured)
		if ev.Type != watch.Added || !ok || u.GetName() != "a" {
			t.Fatalf("first watch event %s %v, want ADDED a", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	list, err := dyn.Resource(crontabs).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=c"})
	if err != nil || len(list.Items) != 1 || list.Items[0].GetNamespace() != "kube-system" {
		t.Fatalf("list by name: %v %v", list, err)
	}

	// The schema: a string where an integer belongs is refused, naming
	// the field; unknown fields are pruned.
	bad := crontab("default", "bad", "cron")
	_ = unstructured.SetNestedField(bad.Object, "x", "spec", "replicas")
	if _, err := dyn.Resource(crontabs).Namespace("default").Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.replicas") {
		t.Errorf("create with a string replicas: %v, want 422 naming spec.replicas", err)
	}
	extra := crontab("default", "extra", "cron")
	_ = unstructured.SetNestedField(extra.Object, "y", "spec", "unknown")
	got, err := dyn.Resource(crontabs).Namespace("default").Create(ctx, extra, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create with an unknown field: %v", err)
	}
	if _, found, _ := unstructured.NestedString(got.Object, "spec", "unknown"); found {
		t.Errorf("unknown field kept: %v", got.Object["spec"])
	}

	// Protobuf: with a JSON fallback, JSON; protobuf alone, 406.
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		accept string
		code   int
		ctype  string
	}{
		{"application/vnd.kubernetes.protobuf, application/json", http.StatusOK, "application/json"},
		{"application/vnd.kubernetes.protobuf", http.StatusNotAcceptable, ""},
		{"application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io, application/json", http.StatusOK, "application/vnd.kubernetes.protobuf"},
	} {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.Config.Host+"/apis/stable.example.com/v1/namespaces/default/crontabs", nil)
		req.Header.Set("Accept", tc.accept)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("Accept %q: %d, want %d (%s)", tc.accept, resp.StatusCode, tc.code, raw)
		}
		if ct := resp.Header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
			t.Errorf("Accept %q: Content-Type %q", tc.accept, ct)
		}
	}
	md, err := metadata.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := md.Resource(crontabs).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(ml.Items) != 3 || ml.Items[0].Name != "a" || ml.Items[0].UID == "" {
		t.Fatalf("metadata list: %v %v", ml, err)
	}

	// Names another CRD of the group holds are not accepted; that CRD is
	// not disturbed.
	things := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "things.stable.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "stable.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "things", Singular: "crontab", Kind: "Thing"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTo(true)}}}},
		},
	}
	conflicted := createCRD(t, ext, things, func(c *apiextensionsv1.CustomResourceDefinition) bool {
		return condition(c, apiextensionsv1.NamesAccepted).Status == apiextensionsv1.ConditionFalse
	})
	if c := condition(conflicted, apiextensionsv1.NamesAccepted); c.Reason != "SingularConflict" || c.Message != `"crontab" is already in use` {
		t.Errorf("NamesAccepted %+v", c)
	}
	if established(conflicted) {
		t.Errorf("conflicting CRD established")
	}
	if _, err := dyn.Resource(crontabs.GroupVersion().WithResource("things")).Namespace("default").List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("list things: %v, want 404", err)
	}
	first, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "crontabs.stable.example.com", metav1.GetOptions{})
	if err != nil || !established(first) || condition(first, apiextensionsv1.NamesAccepted).Status != apiextensionsv1.ConditionTrue {
		t.Errorf("first CRD disturbed: %v %s", err, conditions(first))
	}

	// A restarted server serves the custom objects it stored.
	s.Restart()
	dyn = dynamic.NewForConfigOrDie(s.Config)
	a, err := dyn.Resource(crontabs).Namespace("default").Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	if spec, _, _ := unstructured.NestedString(a.Object, "spec", "cronSpec"); spec != "* * * * */5" || a.GetLabels()["app"] != "cron" {
		t.Errorf("after restart: %v", a.Object)
	}
}

func ptrTo[T any](v T) *T { return &v }
