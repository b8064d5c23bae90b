package schema

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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

// obj parses a JSON or YAML object.
func obj(t testing.TB, s string) map[string]interface{} {
	t.Helper()
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestQuick(t *testing.T) {
	v := compile(t, "crontab-crd.yaml", "v1")
	o := obj(t, `{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"my"},"spec":{"cronSpec":"* * * * */5","replicas":"x"}}`)
	for _, e := range v.Validate(context.Background(), o, nil) {
		t.Log(e.Error())
	}
}
