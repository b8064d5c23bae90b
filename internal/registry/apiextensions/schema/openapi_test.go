package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/openapi/openapitest"
	"k8s.io/kube-openapi/pkg/validation/spec"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got (JSON) with testdata/name, indented.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from what was built (go test -update rewrites it; check the diff)", path)
	}
}

func TestOpenAPIV2(t *testing.T) {
	crd := loadCRD(t, "crontab-crd.yaml")
	sw, err := OpenAPIV2(crd)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sw.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "crontab-openapi-v2.json", b)

	// What kubectl explain crontab.spec reads: the kind's definition,
	// found by its x-kubernetes-group-version-kind, with the schema's
	// fields and descriptions.
	def, ok := sw.Definitions["com.example.stable.v1.CronTab"]
	if !ok {
		t.Fatalf("no definition com.example.stable.v1.CronTab in %v", keys(sw.Definitions))
	}
	gvk, _ := def.Extensions["x-kubernetes-group-version-kind"].([]interface{})
	if len(gvk) != 1 {
		t.Fatalf("x-kubernetes-group-version-kind %v", def.Extensions["x-kubernetes-group-version-kind"])
	}
	if m := gvk[0].(map[string]interface{}); m["group"] != "stable.example.com" || m["version"] != "v1" || m["kind"] != "CronTab" {
		t.Errorf("x-kubernetes-group-version-kind %v", m)
	}
	replicas := def.Properties["spec"].Properties["replicas"]
	if !replicas.Type.Contains("integer") {
		t.Errorf("spec.replicas type %v", replicas.Type)
	}
	if ref := def.Properties["metadata"].Ref; ref.String() != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Errorf("metadata refers to %q", ref.String())
	}
	// v1beta1 is served too, as a free-form object.
	if _, ok := sw.Definitions["com.example.stable.v1beta1.CronTab"]; !ok {
		t.Errorf("no definition for the served v1beta1")
	}
	for _, p := range []string{
		"/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}",
		"/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status",
		"/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale",
		"/apis/stable.example.com/v1/crontabs",
	} {
		if _, ok := sw.Paths.Paths[p]; !ok {
			t.Errorf("no path %s", p)
		}
	}

	// Merged into a static document, the static definitions win.
	static := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger: "2.0",
		Paths:   &spec.Paths{Paths: map[string]spec.PathItem{"/api/v1/pods": {}}},
		Definitions: spec.Definitions{
			"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": sw.Definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"],
		},
	}}
	merged, err := MergeV2(static, sw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := merged.Paths.Paths["/api/v1/pods"]; !ok {
		t.Errorf("merge lost the static paths")
	}
	if _, ok := merged.Definitions["com.example.stable.v1.CronTab"]; !ok {
		t.Errorf("merge lost the CRD's definitions")
	}
	if len(static.Definitions) != 1 {
		t.Errorf("merge changed the static document")
	}
}

func TestOpenAPIV3(t *testing.T) {
	crd := loadCRD(t, "crontab-crd.yaml")
	doc, err := OpenAPIV3(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "crontab-openapi-v3.json", b)

	def, ok := doc.Components.Schemas["com.example.stable.v1.CronTab"]
	if !ok {
		t.Fatalf("no schema com.example.stable.v1.CronTab")
	}
	spec := def.Properties["spec"]
	if d := spec.Properties["image"].Default; d != "busybox" {
		t.Errorf("v3 keeps defaults: image default %v", d)
	}
	if !spec.Properties["email"].Nullable {
		t.Errorf("v3 keeps nullable")
	}
	if _, err := OpenAPIV3(crd, "v2"); err == nil {
		t.Errorf("a version not served has a document")
	}

	// Two CRDs of one group version share its document.
	other := crd.DeepCopy()
	other.Name, other.Spec.Names.Plural, other.Spec.Names.Singular = "cronjabs.stable.example.com", "cronjabs", "cronjab"
	other.Spec.Names.Kind, other.Spec.Names.ListKind = "CronJab", "CronJabList"
	doc2, err := OpenAPIV3(other, "v1")
	if err != nil {
		t.Fatal(err)
	}
	merged, err := MergeV3(doc, doc2)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"com.example.stable.v1.CronTab", "com.example.stable.v1.CronJab"} {
		if _, ok := merged.Components.Schemas[name]; !ok {
			t.Errorf("merged document lacks %s", name)
		}
	}
	if _, ok := merged.Paths.Paths["/apis/stable.example.com/v1/namespaces/{namespace}/cronjabs"]; !ok {
		t.Errorf("merged document lacks the second CRD's paths")
	}
}

func keys(d spec.Definitions) []string {
	var out []string
	for k := range d {
		out = append(out, k)
	}
	return out
}

// TestExplain renders the v3 document with kubectl's own explain code, as
// `kubectl explain crontab.spec` does against a server serving it.
func TestExplain(t *testing.T) {
	doc, err := OpenAPIV3(loadCRD(t, "crontab-crd.yaml"), "v1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "apis__stable.example.com__v1_openapi.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	gvr := schema.GroupVersionResource{Group: "stable.example.com", Version: "v1", Resource: "crontabs"}
	if err := explainv2.PrintModelDescription([]string{"spec"}, &out, openapitest.NewFileClient(dir), gvr, false, 0, "plaintext"); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	for _, want := range []string{
		"GROUP:      stable.example.com",
		"KIND:       CronTab",
		"VERSION:    v1",
		"FIELD: spec <Object>",
		"CronTabSpec is what the user wants the cron tab to do.",
		"cronSpec\t<string> -required-",
		"replicas\t<integer>",
		"Replicas is how many copies of the job run at once.",
		"ports\t<[]Object>",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain lacks %q:\n%s", want, out.String())
		}
	}
}
