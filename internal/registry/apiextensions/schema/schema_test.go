package schema

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

func loadCRD(t testing.TB, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return crd
}

func compile(t testing.TB, crdFile, version string) *Version {
	t.Helper()
	v, err := Compile(loadCRD(t, crdFile), version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// obj parses a JSON or YAML object as the server decodes a body (integers
// as int64).
func obj(t testing.TB, s string) map[string]interface{} {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	m := map[string]interface{}{}
	if err := utiljson.Unmarshal(j, &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// crontab is a valid CronTab of testdata/crontab-crd.yaml with spec
// fields replaced by spec (a YAML/JSON object).
func crontab(t testing.TB, spec string) map[string]interface{} {
	t.Helper()
	o := obj(t, `{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my","namespace":"default"},"spec":{"cronSpec":"* * * * */5","replicas":1}}`)
	for k, v := range obj(t, spec) {
		o["spec"].(map[string]interface{})[k] = v
	}
	return o
}

func errStrings(errs field.ErrorList) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func checkErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := errStrings(errs)
	if want == nil {
		want = []string{}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got  %q\n want %q", got, want)
	}
}

func TestValidateCreate(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	tests := []struct {
		name string
		obj  map[string]interface{}
		want []string
	}{
		{"valid", crontab(t, `{"mode":"Fast","port":"http","email":null,"tags":["a","b"],"ports":[{"name":"a","port":1},{"name":"b"}],"labels":{"a":"b"},
			"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{}},"extra":{"anything":[1,2]}}`), nil},
		{"int-or-string takes an integer", crontab(t, `{"port":80}`), nil},
		{"wrong type", crontab(t, `{"replicas":"x"}`), []string{
			`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`,
			`.spec.replicas: Invalid value: 0: .spec.replicas accessor error: x is of the type string, expected int64`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"maximum", crontab(t, `{"replicas":11}`), []string{
			`spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10`,
		}},
		{"enum", crontab(t, `{"mode":"Medium"}`), []string{
			`spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"pattern", crontab(t, `{"cronSpec":"every minute"}`), []string{
			`spec.cronSpec: Invalid value: "every minute": spec.cronSpec in body should match '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'`,
		}},
		{"format", crontab(t, `{"email":"not-an-address"}`), []string{
			`spec.email: Invalid value: "not-an-address": spec.email in body must be of type email: "not-an-address"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"int-or-string refuses a boolean", crontab(t, `{"port":true}`), []string{
			`spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"additionalProperties type", crontab(t, `{"labels":{"a":1}}`), []string{
			`spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"list-type set", crontab(t, `{"tags":["a","b","a"]}`), []string{
			`spec.tags[2]: Duplicate value: "a"`,
		}},
		{"maxItems and maxLength", crontab(t, `{"tags":["a","b","c","0123456789"]}`), []string{
			`spec.tags: Too many: 4: must have at most 3 items`,
			`spec.tags[3]: Too long: may not be more than 8 bytes`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"list-type map", crontab(t, `{"ports":[{"name":"a"},{"name":"a","port":2}]}`), []string{
			`spec.ports[1]: Duplicate value: {"name":"a"}`,
		}},
		{"required in a list item", crontab(t, `{"ports":[{"port":2}]}`), []string{
			`spec.ports[0].name: Required value`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"embedded resource without apiVersion and kind", crontab(t, `{"template":{"metadata":{"name":"p"}}}`), []string{
			`spec.template.apiVersion: Required value`,
			`spec.template.kind: Required value`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"embedded resource's metadata and kind", crontab(t, `{"template":{"apiVersion":"a/b/c","kind":"Pod!","metadata":{"name":"a/b","labels":{"x":"-"}}}}`), []string{
			`spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c`,
			`spec.template.kind: Invalid value: "Pod!": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
			`spec.template.metadata.name: Invalid value: "a/b": may not contain '/'`,
			`spec.template.metadata.labels: Invalid value: "-": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
		}},
		{"CEL rule", crontab(t, `{"minReplicas":3,"replicas":2}`), []string{
			`spec: Invalid value: replicas must be at least minReplicas`,
		}},
		{"required", func() map[string]interface{} {
			o := crontab(t, `{}`)
			delete(o["spec"].(map[string]interface{}), "cronSpec")
			return o
		}(), []string{
			`spec.cronSpec: Required value`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"wrong kind and apiVersion", func() map[string]interface{} {
			o := crontab(t, `{}`)
			o["kind"], o["apiVersion"] = "CronJob", "stable.example.com/v2"
			return o
		}(), []string{
			`kind: Invalid value: "CronJob": must be CronTab`,
			`apiVersion: Invalid value: "stable.example.com/v2": must be stable.example.com/v1`,
		}},
		{"scale replicas out of range", crontab(t, `{"replicas":-1}`), []string{
			`spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`,
			`.spec.replicas: Invalid value: -1: should be a non-negative integer`,
			`spec: Invalid value: replicas must be at least minReplicas`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Default(tt.obj) // as the server does on decoding
			checkErrs(t, v.Validate(context.Background(), tt.obj, nil), tt.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	tests := []struct {
		name     string
		old, obj map[string]interface{}
		want     []string
	}{
		{"transition rule holds", crontab(t, `{"cronSpec":"1 * * * *"}`), crontab(t, `{"cronSpec":"2 * * * *","replicas":1}`), nil},
		{"transition rule fails", crontab(t, `{"cronSpec":"1 * * * *"}`), crontab(t, `{"cronSpec":"2 * * * *","replicas":0}`), []string{
			`spec: Invalid value: failed rule: !oldSelf.hasValue() || self.cronSpec == oldSelf.value().cronSpec || self.replicas > 0`,
		}},
		{"errors in unchanged fields ratchet", crontab(t, `{"replicas":11,"mode":"Medium"}`), crontab(t, `{"replicas":11,"mode":"Medium","image":"nginx"}`), nil},
		{"changed fields are checked", crontab(t, `{"replicas":11}`), crontab(t, `{"replicas":12}`), []string{
			`spec.replicas: Invalid value: 12: spec.replicas in body should be less than or equal to 10`,
		}},
		{"set duplicates ratchet", crontab(t, `{"tags":["a","a"]}`), crontab(t, `{"tags":["a","a"],"image":"nginx"}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Default(tt.obj)
			v.Default(tt.old)
			checkErrs(t, v.Validate(context.Background(), tt.obj, tt.old), tt.want)
		})
	}
}

func TestValidateStatus(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	withStatus := func(status string) map[string]interface{} {
		o := crontab(t, `{}`)
		o["status"] = obj(t, status)
		return o
	}
	tests := []struct {
		name     string
		old, obj map[string]interface{}
		want     []string
	}{
		{"valid", crontab(t, `{}`), withStatus(`{"replicas":2,"selector":"app=a","phase":"Running"}`), nil},
		{"enum", crontab(t, `{}`), withStatus(`{"phase":"Bogus"}`), []string{
			`status.phase: Unsupported value: "Bogus": supported values: "Pending", "Running"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
		{"scale status paths", crontab(t, `{}`), withStatus(`{"replicas":-2,"selector":5}`), []string{
			`.status.replicas: Invalid value: -2: should be a non-negative integer`,
			`.status.selector: Invalid value: "": .status.selector accessor error: 5 is of the type int64, expected string`,
			`status.selector: Invalid value: "integer": selector in body must be of type string: "integer"`,
			`<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Default(tt.obj)
			v.Default(tt.old)
			checkErrs(t, v.ValidateStatus(context.Background(), tt.obj, tt.old), tt.want)
		})
	}
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name     string
		version  string
		in, want string
		unknown  []string
	}{
		{"known fields stay", "v1",
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my"},"spec":{"cronSpec":"x","extra":{"free":{"form":1}}}}`,
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my"},"spec":{"cronSpec":"x","extra":{"free":{"form":1}}}}`, nil},
		{"unknown fields go, with their paths", "v1",
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my","bogus":1},"top":1,"spec":{"cronSpec":"x","foo":"bar","ports":[{"name":"a","color":"red"}]},"status":{"nope":true}}`,
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my"},"spec":{"cronSpec":"x","ports":[{"name":"a"}]},"status":{}}`,
			[]string{"metadata.bogus", "spec.foo", "spec.ports[0].color", "status.nope", "top"}},
		{"embedded resources keep apiVersion, kind and metadata, not unknown metadata", "v1",
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","nonsense":1},"spec":{"x":1}}}}`,
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1}}}}`,
			[]string{"spec.template.metadata.nonsense"}},
		{"nulls of non-nullable fields without default go", "v1",
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"mode":null,"email":null,"replicas":null}}`,
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"email":null,"replicas":null}}`, nil},
		{"a version preserving unknown fields keeps them", "v1beta1",
			`{"apiVersion":"stable.example.com/v1beta1","kind":"CronTab","anything":{"goes":1}}`,
			`{"apiVersion":"stable.example.com/v1beta1","kind":"CronTab","anything":{"goes":1}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := compile(t, "crontab-crd.yaml", tt.version)
			o := obj(t, tt.in)
			unknown, err := v.Prune(o)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(unknown)
			if !reflect.DeepEqual(unknown, tt.unknown) {
				t.Errorf("unknown fields %q, want %q", unknown, tt.unknown)
			}
			if got := canonical(t, o); got != canonical(t, obj(t, tt.want)) {
				t.Errorf("pruned to\n %s\nwant\n %s", got, canonical(t, obj(t, tt.want)))
			}
		})
	}
}

func TestPruneMalformedMetadata(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	for _, in := range []string{
		`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":5}}`,
		`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":"x"}`,
		`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"template":{"metadata":{"labels":[1]}}}}`,
	} {
		if _, err := v.Prune(obj(t, in)); err == nil {
			t.Errorf("%s: pruned without error", in)
		}
	}
}

func TestDefault(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"missing fields get defaults",
			`{"spec":{"cronSpec":"x"}}`,
			`{"spec":{"cronSpec":"x","image":"busybox","replicas":1,"minReplicas":0}}`},
		{"set fields stay",
			`{"spec":{"cronSpec":"x","image":"nginx","replicas":3,"minReplicas":2}}`,
			`{"spec":{"cronSpec":"x","image":"nginx","replicas":3,"minReplicas":2}}`},
		{"null of a defaulted field gets the default",
			`{"spec":{"replicas":null}}`,
			`{"spec":{"image":"busybox","replicas":1,"minReplicas":0}}`},
		{"no parent, no defaults", `{"status":{}}`, `{"status":{}}`},
	}
	v := compile(t, "crontab-crd.yaml", "v1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := obj(t, tt.in)
			v.Default(o)
			if got, want := canonical(t, o), canonical(t, obj(t, tt.want)); got != want {
				t.Errorf("defaulted to\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	crd := loadCRD(t, "crontab-crd.yaml")
	if _, err := Compile(crd, "v2"); err == nil || !strings.Contains(err.Error(), `no version "v2"`) {
		t.Errorf("unknown version: %v", err)
	}
	bad := crd.DeepCopy()
	bad.Spec.Versions[0].Schema = &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Properties: map[string]apiextensionsv1.JSONSchemaProps{"a": {Type: "string"}}}},
	}}
	if _, err := Compile(bad, "v1"); err == nil || !strings.Contains(err.Error(), "not structural") {
		t.Errorf("non-structural schema: %v", err)
	}
	v, err := Compile(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got := v.GroupVersionKind().String(); got != "stable.example.com/v1, Kind=CronTab" {
		t.Errorf("gvk %s", got)
	}
	// The kind checked is the accepted one (the naming controller may not
	// have accepted a changed kind yet).
	accepted := crd.DeepCopy()
	accepted.Spec.Names.Kind = "CronTabNew"
	accepted.Status.AcceptedNames.Kind = "CronTab"
	if v, err = Compile(accepted, "v1"); err != nil {
		t.Fatal(err)
	}
	if got := v.GroupVersionKind().Kind; got != "CronTab" {
		t.Errorf("kind %s, want the accepted CronTab", got)
	}
}

func canonical(t testing.TB, o map[string]interface{}) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPruneStored(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	o := obj(t, `{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my","labels":[1],"bogus":1},"spec":{"cronSpec":"x","foo":1,"template":{"metadata":{"labels":"x"}}}}`)
	if err := v.PruneStored(o); err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"generation":1,"name":"my"},"spec":{"cronSpec":"x","template":{"metadata":{}}}}`
	if got := canonical(t, o); got != canonical(t, obj(t, want)) {
		t.Errorf("pruned to\n %s\nwant\n %s", got, canonical(t, obj(t, want)))
	}
}

func TestWarnings(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	withFinalizers := func(f ...interface{}) map[string]interface{} {
		o := crontab(t, `{}`)
		o["metadata"].(map[string]interface{})["finalizers"] = f
		return o
	}
	tests := []struct {
		name     string
		obj, old map[string]interface{}
		want     []string
	}{
		{"qualified", withFinalizers("example.com/cleanup", "orphan", "foregroundDeletion", "kubernetes"), nil, nil},
		{"unqualified", withFinalizers("cleanup", "example.com", "bad name!"), nil, []string{
			`metadata.finalizers: "bad name!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			`metadata.finalizers: "bad name!": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`,
			`metadata.finalizers: "cleanup": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`,
			`metadata.finalizers: "example.com": prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers`,
		}},
		{"update warns about added finalizers only", withFinalizers("cleanup", "more"), withFinalizers("cleanup"), []string{
			`metadata.finalizers: "more": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Warnings(tt.obj, tt.old); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}
