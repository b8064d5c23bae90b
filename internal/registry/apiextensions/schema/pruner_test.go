package schema

import (
	"fmt"
	"sort"
	"testing"
)

// TestPrunerPrunesAsVersion: the pruning-only compile drops and reports
// what the full one does.
func TestPrunerPrunesAsVersion(t *testing.T) {
	crd := loadCRD(t, "crontab-crd.yaml")
	for _, c := range []struct {
		name    string
		obj     func() map[string]interface{}
		unknown string
	}{
		{"known fields only", func() map[string]interface{} {
			return map[string]interface{}{"apiVersion": "stable.example.com/v1", "kind": "CronTab",
				"metadata": map[string]interface{}{"name": "a"}, "spec": map[string]interface{}{"cronSpec": "* * * * *"}}
		}, "[]"},
		{"unknown in spec and metadata", func() map[string]interface{} {
			return map[string]interface{}{"apiVersion": "stable.example.com/v1", "kind": "CronTab",
				"metadata": map[string]interface{}{"name": "a", "colour": "red"},
				"spec":     map[string]interface{}{"cronSpec": "* * * * *", "foo": 1}, "top": true}
		}, "[metadata.colour spec.foo top]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Compile(crd, "v1")
			if err != nil {
				t.Fatal(err)
			}
			p, err := CompilePruner(crd, "v1")
			if err != nil {
				t.Fatal(err)
			}
			fromVersion, fromPruner := c.obj(), c.obj()
			want, err := v.Prune(fromVersion)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Prune(fromPruner)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(sorted(got)) != c.unknown || fmt.Sprint(sorted(want)) != c.unknown {
				t.Errorf("unknown fields: pruner %v, version %v, want %s", got, want, c.unknown)
			}
			if fmt.Sprint(fromPruner) != fmt.Sprint(fromVersion) {
				t.Errorf("pruned to %v, Version.Prune to %v", fromPruner, fromVersion)
			}
		})
	}
	if _, err := CompilePruner(crd, "v9"); err == nil {
		t.Error("CompilePruner of an undefined version: no error")
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
