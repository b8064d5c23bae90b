package schema

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestTypeConverter checks that server-side apply sees the schema's list
// types: ports is a map keyed by name, tags a set, and two appliers' ports
// merge by key.
func TestTypeConverter(t *testing.T) {
	tc, err := TypeConverter(loadCRD(t, "crontab-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	typed := func(spec string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: crontab(t, spec)}
	}
	a, err := tc.ObjectToTyped(typed(`{"ports":[{"name":"http","port":80}],"tags":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := a.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.spec.ports[name="http"].port`, `.spec.tags[="x"]`} {
		if !strings.Contains(set.String(), want) {
			t.Errorf("field set lacks %s:\n%s", want, set)
		}
	}

	b, err := tc.ObjectToTyped(typed(`{"ports":[{"name":"https","port":443}]}`))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := a.Merge(b)
	if err != nil {
		t.Fatal(err)
	}
	ports, _, _ := unstructured.NestedSlice(merged.AsValue().Unstructured().(map[string]interface{}), "spec", "ports")
	if len(ports) != 2 {
		t.Errorf("ports merged by key: got %v, want http and https", ports)
	}

	if _, err := tc.ObjectToTyped(typed(`{"ports":[{"name":"http"},{"name":"http"}]}`)); err == nil {
		t.Errorf("duplicate map keys typed without error")
	}
}
