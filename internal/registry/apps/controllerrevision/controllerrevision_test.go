package controllerrevision

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

func newRevision(data string) *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-7b6f8d9c4", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "1234", Controller: new(true)}},
		},
		Data:     runtime.RawExtension{Raw: []byte(data)},
		Revision: 1,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cr   *appsv1.ControllerRevision
		want []Err
	}{
		{"valid", newRevision(`{"spec":{"template":{"$patch":"replace"}}}`), nil},
		{"in-process object", &appsv1.ControllerRevision{Data: runtime.RawExtension{Object: &appsv1.StatefulSet{}}}, nil},
		{"negative revision", func() *appsv1.ControllerRevision { c := newRevision(`{}`); c.Revision = -1; return c }(), []Err{Invalid("revision")}},
		{"no data", &appsv1.ControllerRevision{}, []Err{Required("data")}},
		{"null", newRevision(`null`), []Err{Required("data")}},
		{"array", newRevision(`[1,2]`), []Err{Required("data")}},
		{"not json", newRevision(`{spec`), []Err{Invalid("data")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { Expect(t, Validate(tt.cr), tt.want...) })
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newRevision(`{"a":1}`)
	renumbered := old.DeepCopy()
	renumbered.Revision = 4
	Expect(t, ValidateUpdate(renumbered, old))
	reencoded := newRevision(`{ "a": 1 }`)
	Expect(t, ValidateUpdate(reencoded, old))
	changed := newRevision(`{"a":2}`)
	Expect(t, ValidateUpdate(changed, old), Invalid("data"))
}

func TestTable(t *testing.T) {
	cr := newRevision(`{}`)
	cr.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Minute))
	row, err := Resource().Table.Row(cr)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"web-7b6f8d9c4", "statefulset.apps/web", int64(1), "60s"}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	orphan := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Revision: 2}
	if row, _ := Resource().Table.Row(orphan); row[1] != "<none>" {
		t.Errorf("controller cell %q", row[1])
	}
	bad := newRevision(`{}`)
	bad.OwnerReferences[0].APIVersion = "a/b/c"
	if _, err := Resource().Table.Row(bad); err == nil {
		t.Errorf("no error for a malformed owner apiVersion")
	}
}
