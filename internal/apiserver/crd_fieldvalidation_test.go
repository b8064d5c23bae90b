package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// Bodies of upstream's field validation integration test (JSON with
// duplicate keys cannot be built from Go values).
const (
	noxuInvalid = `{"apiVersion": "schema.example.com/v1", "kind": "Noxu",
	"metadata": {"name": "dupename", "name": "%s", "unknownMeta": "metaVal", "resourceVersion": "%s"},
	"spec": {"unknown1": "val1", "unknownDupe": "valDupe", "unknownDupe": "valDupe2", "knownField1": "val1", "knownField1": "val2",
		"ports": [{"name": "portName", "containerPort": 8080, "protocol": "TCP", "hostPort": 8081, "hostPort": 8082, "unknownNested": "val"}],
		"embeddedObj": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "my-cm", "namespace": "my-ns", "unknownEmbeddedMeta": "foo"}}}}`
	noxuInvalidYAML = `
apiVersion: schema.example.com/v1
kind: Noxu
metadata:
  name: dupename
  name: "%s"
  resourceVersion: "%s"
  unknownMeta: metaVal
spec:
  unknown1: val1
  unknownDupe: valDupe
  unknownDupe: valDupe2
  knownField1: val1
  knownField1: val2
  ports:
  - name: portName
    containerPort: 8080
    protocol: TCP
    hostPort: 8081
    hostPort: 8082
    unknownNested: val
  embeddedObj:
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: my-cm
      namespace: my-ns
      unknownEmbeddedMeta: foo`
	noxuMergePatch = `{"spec": {"unknown1": "val1", "unknownDupe": "valDupe", "unknownDupe": "valDupe2", "knownField1": "val1", "knownField1": "val2",
		"ports": [{"name": "portName", "containerPort": 8080, "protocol": "TCP", "hostPort": 8081, "hostPort": 8082, "unknownNested": "val"}]}}`
	noxuJSONPatch = `[
		{"op": "add", "path": "/spec/unknown1", "value": "val1", "foo": "bar"},
		{"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val2"},
		{"op": "add", "path": "/spec/knownField1", "value": "val1"}]`
	noxuApply = `{"apiVersion": "schema.example.com/v1", "kind": "Noxu", "metadata": {"name": "%s"},
"spec": {"knownField1": "val1",
"knownField1": "val2"}}`
)

var (
	noxuBodyErrs = []string{`unknown field "metadata.unknownMeta"`, `unknown field "spec.ports[0].unknownNested"`, `unknown field "spec.unknown1"`,
		`unknown field "spec.unknownDupe"`, `unknown field "spec.embeddedObj.metadata.unknownEmbeddedMeta"`}
	noxuJSONDupes = []string{`duplicate field "metadata.name"`, `duplicate field "spec.unknownDupe"`, `duplicate field "spec.knownField1"`, `duplicate field "spec.ports[0].hostPort"`}
	noxuYAMLDupes = []string{`line 6: key "name" already set in map`, `line 12: key "unknownDupe" already set in map`,
		`line 14: key "knownField1" already set in map`, `line 20: key "hostPort" already set in map`}
	noxuMergeErrs = []string{`duplicate field "spec.unknownDupe"`, `duplicate field "spec.knownField1"`, `duplicate field "spec.ports[0].hostPort"`,
		`unknown field "spec.ports[0].unknownNested"`, `unknown field "spec.unknown1"`, `unknown field "spec.unknownDupe"`}
	noxuJSONPatchErrs = []string{`json patch unknown field "[0].foo"`, `json patch duplicate field "[1].path"`, `unknown field "spec.unknown1"`, `unknown field "spec.unknown3"`}
)

// TestFieldValidationCustomResources: unknown and duplicate fields of
// custom objects under fieldValidation Strict (one 400 naming all),
// Warn and the default (a warning each), and Ignore (nothing), on
// create, update, merge and JSON patches and server-side apply, with
// upstream's messages and order.
func TestFieldValidationCustomResources(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	data, err := os.ReadFile("testdata/noxu-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(s.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	ext := apiextensionsclient.NewForConfigOrDie(cfg)
	createCRD(t, ext, crd, established)
	rc := ext.Discovery().RESTClient()
	const path = "/apis/schema.example.com/v1/noxus"

	// create makes an object to update or patch and returns its
	// resourceVersion.
	create := func(t *testing.T, name string) string {
		t.Helper()
		body := fmt.Sprintf(`{"apiVersion": "schema.example.com/v1", "kind": "Noxu", "metadata": {"name": %q}, "spec": {"knownField1": "a", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}}`, name)
		var rv struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		raw, err := rc.Post().AbsPath(path).Body([]byte(body)).DoRaw(ctx)
		if err == nil {
			err = yaml.Unmarshal(raw, &rv)
		}
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return rv.Metadata.ResourceVersion
	}

	type request struct {
		verb, contentType, body string // body: %s name, %s resourceVersion (update)
		errs                    []string
	}
	requests := map[string]request{
		"create json":  {verb: "POST", contentType: "application/json", body: noxuInvalid, errs: append(append([]string{}, noxuJSONDupes...), noxuBodyErrs...)},
		"create yaml":  {verb: "POST", contentType: "application/yaml", body: noxuInvalidYAML, errs: append(append([]string{}, noxuYAMLDupes...), noxuBodyErrs...)},
		"update json":  {verb: "PUT", contentType: "application/json", body: noxuInvalid, errs: append(append([]string{}, noxuJSONDupes...), noxuBodyErrs...)},
		"merge patch":  {verb: "PATCH", contentType: string(types.MergePatchType), body: noxuMergePatch, errs: noxuMergeErrs},
		"json patch":   {verb: "PATCH", contentType: string(types.JSONPatchType), body: noxuJSONPatch, errs: noxuJSONPatchErrs},
		"apply create": {verb: "APPLY", contentType: string(types.ApplyPatchType), body: noxuApply, errs: []string{`line 3: key "knownField1" already set in map`}},
	}
	n := 0
	for what, rq := range requests {
		for _, validation := range []string{"Strict", "Warn", "Ignore", ""} {
			t.Run(what+" "+validation, func(t *testing.T) {
				n++
				name := fmt.Sprintf("noxu-%d", n)
				body, req := "", rc.Post().AbsPath(path)
				switch rq.verb {
				case "POST":
					body = fmt.Sprintf(rq.body, name, "")
				case "PUT":
					rv := create(t, name)
					body = fmt.Sprintf(rq.body, name, rv)
					req = rc.Put().AbsPath(path, name)
				case "PATCH":
					create(t, name)
					body, req = rq.body, rc.Patch(types.PatchType(rq.contentType)).AbsPath(path, name)
				case "APPLY":
					body = fmt.Sprintf(rq.body, name)
					req = rc.Patch(types.ApplyPatchType).AbsPath(path, name).Param("fieldManager", "test")
				}
				if validation != "" {
					req = req.Param("fieldValidation", validation)
				}
				res := req.SetHeader("Content-Type", rq.contentType).Body([]byte(body)).Do(ctx)
				var warnings []string
				for _, w := range res.Warnings() {
					warnings = append(warnings, w.Text)
				}
				err := res.Error()
				switch validation {
				case "Strict":
					want := "strict decoding error: " + strings.Join(rq.errs, ", ")
					if rq.verb == "APPLY" {
						want = "error strict decoding patch: error converting YAML to JSON: yaml: unmarshal errors:\n  " + strings.Join(rq.errs, "\n  ")
					}
					if rq.contentType == "application/yaml" {
						want = "strict decoding error: yaml: unmarshal errors:\n  " + strings.Join(noxuYAMLDupes, "\n  ") + ", " + strings.Join(noxuBodyErrs, ", ")
					}
					if err == nil || !strings.HasSuffix(err.Error(), want) {
						t.Fatalf("error %v, want one ending %q", err, want)
					}
				case "Ignore":
					if err != nil || len(warnings) != 0 {
						t.Fatalf("error %v, warnings %q; want neither", err, warnings)
					}
				default:
					if err != nil || strings.Join(warnings, "\n") != strings.Join(rq.errs, "\n") {
						t.Fatalf("error %v, warnings:\n%s\nwant:\n%s", err, strings.Join(warnings, "\n"), strings.Join(rq.errs, "\n"))
					}
				}
			})
		}
	}
}
