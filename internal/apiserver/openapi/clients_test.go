package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kubectl/pkg/cmd/explain"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"
	"k8s.io/kubectl/pkg/validation"
)

// apiServer serves the documents and, for kubectl's REST mapper, a
// minimal legacy discovery (/api, /apis and one resource list per group
// version) of the same resources.
func apiServer(t *testing.T) (*httptest.Server, *rest.Config) {
	t.Helper()
	d := New(testResources())
	mux := http.NewServeMux()
	mux.Handle("/openapi/", d.Handler())
	lists := map[string]*metav1.APIResourceList{}
	groups := &metav1.APIGroupList{}
	for _, r := range d.resources {
		path := rootPath(r.GroupVersion)
		l := lists[path]
		if l == nil {
			l = &metav1.APIResourceList{GroupVersion: r.GroupVersion.String()}
			lists[path] = l
			if r.GroupVersion.Group != "" {
				gv := metav1.GroupVersionForDiscovery{GroupVersion: r.GroupVersion.String(), Version: r.GroupVersion.Version}
				groups.Groups = append(groups.Groups, metav1.APIGroup{Name: r.GroupVersion.Group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv})
			}
		}
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name: r.Resource, SingularName: r.SingularName, Namespaced: r.Namespaced, Kind: r.Kind, ShortNames: r.ShortNames,
			Verbs: metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
		})
	}
	reply := func(v interface{}) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	mux.Handle("/api", reply(&metav1.APIVersions{Versions: []string{"v1"}}))
	mux.Handle("/apis", reply(groups))
	for path, l := range lists {
		mux.Handle(path, reply(l))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &rest.Config{Host: srv.URL}
}

// client-go's discovery client reads /openapi/v2 in protobuf, as kubectl
// does for its v2 models (strategic merge patch, --validate fallback).
func TestDiscoveryClientReadsV2Protobuf(t *testing.T) {
	_, cfg := apiServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range doc.GetDefinitions().GetAdditionalProperties() {
		names[p.GetName()] = true
	}
	for _, n := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"} {
		if !names[n] {
			t.Errorf("v2 document has no %s", n)
		}
	}

	// kubectl's v2 models: the kinds resolve, and a Deployment's
	// containers merge by name.
	models, err := kubectlopenapi.NewOpenAPIData(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := models.LookupResource(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	if s == nil {
		t.Fatal("kubectl finds no model for apps/v1 Deployment")
	}
	var meta strategicpatch.LookupPatchMeta = strategicpatch.NewPatchMetaFromOpenAPI(s)
	for _, f := range []string{"spec", "template", "spec"} {
		if meta, _, err = meta.LookupPatchMetadataForStruct(f); err != nil {
			t.Fatalf("patch metadata of %s: %v", f, err)
		}
	}
	_, pm, err := meta.LookupPatchMetadataForSlice("containers")
	if err != nil {
		t.Fatal(err)
	}
	if got := pm.GetPatchStrategies(); len(got) != 1 || got[0] != "merge" {
		t.Errorf("containers patch strategy %v, want [merge]", got)
	}
	if got := pm.GetPatchMergeKey(); got != "name" {
		t.Errorf("containers merge key %q, want name", got)
	}
	if got := models.GetConsumes(appsv1.SchemeGroupVersion.WithKind("Deployment"), "PATCH"); !contains(got, "application/apply-patch+yaml") {
		t.Errorf("PATCH of deployments consumes %v", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// client-go's openapi client lists the v3 documents and reads them; the
// typed root parses them and finds each served kind.
func TestOpenAPIV3Client(t *testing.T) {
	_, cfg := apiServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"api/v1", "apis/apps/v1", "apis/batch/v1", "api", "apis", "version"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("v3 paths have no %s: %v", p, paths)
		}
	}
	// The protobuf form parses too.
	pb, err := paths["apis/apps/v1"].Schema("application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
	if err != nil || len(pb) == 0 {
		t.Errorf("apps/v1 in protobuf: %d bytes, %v", len(pb), err)
	}

	root := openapi3.NewRoot(cached.NewClient(dc.OpenAPIV3()))
	for _, gvk := range []schema.GroupVersionKind{
		corev1.SchemeGroupVersion.WithKind("Pod"),
		appsv1.SchemeGroupVersion.WithKind("Deployment"),
		corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	} {
		s, err := root.GVSpec(gvk.GroupVersion())
		if err != nil {
			t.Fatalf("%s: %v", gvk.GroupVersion(), err)
		}
		found := false
		for _, def := range s.Components.Schemas {
			var kinds []map[string]string
			if def.Extensions.GetObject(extensionGVK, &kinds) == nil {
				for _, k := range kinds {
					found = found || (k["group"] == gvk.Group && k["version"] == gvk.Version && k["kind"] == gvk.Kind)
				}
			}
		}
		if !found {
			t.Errorf("no v3 definition has the kind %s", gvk)
		}
	}
}

// kubectl sends fieldValidation=Strict only when the server's document
// says a kind's PATCH takes it: the query parameter verifier decides.
func TestQueryParamVerifierV3(t *testing.T) {
	_, cfg := apiServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	v := resource.NewQueryParamVerifierV3(dynamic.NewForConfigOrDie(cfg), cached.NewClient(dc.OpenAPIV3()), resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{
		corev1.SchemeGroupVersion.WithKind("ConfigMap"),
		corev1.SchemeGroupVersion.WithKind("Pod"),
		corev1.SchemeGroupVersion.WithKind("Namespace"),
		appsv1.SchemeGroupVersion.WithKind("Deployment"),
		{Group: "batch", Version: "v1", Kind: "Job"},
	} {
		if err := v.HasSupport(gvk); err != nil {
			t.Errorf("%s: %v", gvk, err)
		}
	}
	if err := v.HasSupport(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}); err == nil {
		t.Error("an unknown kind supports fieldValidation")
	}
}

// kubectl explain renders a field from the v3 document.
func TestExplainV3(t *testing.T) {
	_, cfg := apiServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	var out bytes.Buffer
	err := explainv2.PrintModelDescription([]string{"spec", "replicas"}, &out, dc.OpenAPIV3(),
		appsv1.SchemeGroupVersion.WithResource("deployments"), false, 0, "plaintext")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "FIELD: replicas <integer>", "Number of desired pods"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
}

// The `kubectl explain` command, as a user runs it: the REST mapper from
// discovery, then v3 (the default) or v2 (-o plaintext-openapiv2).
func TestKubectlExplainCommand(t *testing.T) {
	srv, _ := apiServer(t)
	var fatal string
	cmdutil.BehaviorOnFatal(func(msg string, _ int) { fatal = msg })
	defer cmdutil.DefaultBehaviorOnFatal()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"pods.spec.containers"}, []string{"KIND:       Pod", "FIELD: containers <[]Container>", "name\t<string> -required-"}},
		{[]string{"deploy.spec.strategy.type"}, []string{"KIND:       Deployment", "FIELD: type <string>", "Recreate"}},
		{[]string{"configmaps", "-o", "plaintext-openapiv2"}, []string{"KIND:     ConfigMap", "VERSION:  v1", "data\t<map[string]string>"}},
	} {
		flags := genericclioptions.NewConfigFlags(false)
		host, cacheDir := srv.URL, t.TempDir()
		flags.APIServer, flags.CacheDir = &host, &cacheDir
		var out, errOut bytes.Buffer
		cmd := explain.NewCmdExplain("kubectl", cmdutil.NewFactory(flags), genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
		cmd.SetArgs(tc.args)
		fatal = ""
		if err := cmd.Execute(); err != nil || fatal != "" {
			t.Fatalf("kubectl explain %v: %v %s", tc.args, err, fatal)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("kubectl explain %v lacks %q:\n%s", tc.args, w, out.String())
			}
		}
	}
}

// Server-side apply's type information: clients build a type converter
// from the v3 schemas, which needs the list types and map keys.
func TestTypeConverterFromV3(t *testing.T) {
	_, cfg := apiServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatal(err)
	}
	b, err := paths["apis/apps/v1"].Schema("application/json")
	if err != nil {
		t.Fatal(err)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	tc, err := managedfields.NewTypeConverter(doc.Components.Schemas, false)
	if err != nil {
		t.Fatal(err)
	}
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "a", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}}}},
		}}},
	}
	typed, err := tc.ObjectToTyped(dep)
	if err != nil {
		t.Fatal(err)
	}
	set, err := typed.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	if s := set.String(); !strings.Contains(s, `.spec.template.spec.containers[name="a"]`) {
		t.Errorf("containers are not a map keyed by name:\n%s", s)
	}
}

// What `kubectl create/apply --validate=strict` does: the server says it
// validates fields itself, so kubectl sends fieldValidation=Strict and
// skips its own check; the client-side check (from the v2 models) still
// knows every field, as kubectl uses it against servers without it.
func TestKubectlValidator(t *testing.T) {
	srv, _ := apiServer(t)
	flags := genericclioptions.NewConfigFlags(false)
	host, cacheDir := srv.URL, t.TempDir()
	flags.APIServer, flags.CacheDir = &host, &cacheDir
	f := cmdutil.NewFactory(flags)
	v, err := f.Validator(metav1.FieldValidationStrict)
	if err != nil {
		t.Fatal(err)
	}
	bogus := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"},"bogus":1}`)
	if err := v.ValidateBytes(bogus); err != nil {
		t.Errorf("kubectl validates client-side instead of sending fieldValidation: %v", err)
	}
	clientSide := validation.NewSchemaValidation(f)
	if err := clientSide.ValidateBytes(bogus); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("client-side validation of an unknown field: %v", err)
	}
	good := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`)
	if err := clientSide.ValidateBytes(good); err != nil {
		t.Errorf("client-side validation of a valid deployment: %v", err)
	}
}
