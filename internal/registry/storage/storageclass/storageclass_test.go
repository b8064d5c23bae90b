package storageclass

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

// local is a typical class as users write it.
func local() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "local-path"},
		Provisioner: "rancher.io/local-path",
		Parameters:  map[string]string{"nodePath": "/data"},
	}
}

func TestDefault(t *testing.T) {
	sc := local()
	Resource().Hooks.Default(sc)
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("defaults: %v %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
	}
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	sc = local()
	sc.ReclaimPolicy, sc.VolumeBindingMode = &retain, &wait
	Resource().Hooks.Default(sc)
	if *sc.ReclaimPolicy != retain || *sc.VolumeBindingMode != wait {
		t.Error("defaulting overwrote set values")
	}
}

func TestValidate(t *testing.T) {
	bad := corev1.PersistentVolumeReclaimPolicy("Recycle")
	badMode := storagev1.VolumeBindingMode("Later")
	cases := []struct {
		name   string
		modify func(*storagev1.StorageClass)
		want   []string
	}{
		{name: "valid", modify: func(*storagev1.StorageClass) {}},
		{name: "upper case provisioner", modify: func(sc *storagev1.StorageClass) { sc.Provisioner = "Example.com/NFS" }},
		{name: "kubernetes.io provisioner", modify: func(sc *storagev1.StorageClass) { sc.Provisioner = "kubernetes.io/no-provisioner" }},
		{name: "no provisioner", modify: func(sc *storagev1.StorageClass) { sc.Provisioner = "" }, want: []string{"provisioner: Required value"}},
		{name: "bad provisioner", modify: func(sc *storagev1.StorageClass) { sc.Provisioner = "my provisioner" }, want: []string{"provisioner: Invalid value"}},
		{name: "empty parameter key", modify: func(sc *storagev1.StorageClass) { sc.Parameters[""] = "x" }, want: []string{"parameters: Invalid value"}},
		{name: "too many parameters", modify: func(sc *storagev1.StorageClass) {
			for i := 0; i < 513; i++ {
				sc.Parameters[strings.Repeat("k", i+1)] = ""
			}
		}, want: []string{"parameters: Too long"}},
		{name: "parameters too big", modify: func(sc *storagev1.StorageClass) { sc.Parameters["big"] = strings.Repeat("x", 256*1024) }, want: []string{"parameters: Too long"}},
		{name: "Recycle", modify: func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = &bad }, want: []string{"reclaimPolicy: Unsupported value"}},
		{name: "bad binding mode", modify: func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = &badMode }, want: []string{"volumeBindingMode: Unsupported value"}},
		{name: "topology", modify: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
				{Key: "topology.kubernetes.io/zone", Values: []string{"a", "b"}},
			}}}
		}},
		{name: "empty topology term (upstream reports it as a duplicate)", modify: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{}}
		}, want: []string{"allowedTopologies[0].matchLabelExpressions: Duplicate value"}},
		{name: "topology mistakes", modify: func(sc *storagev1.StorageClass) {
			term := corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
				{Key: "zone", Values: []string{"a", "a"}},
				{Key: "bad key!", Values: nil},
				{Key: "zone", Values: []string{"b"}},
			}}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{term, term}
		}, want: []string{
			"allowedTopologies[0].matchLabelExpressions[0].values[1]: Duplicate value",
			"allowedTopologies[0].matchLabelExpressions[1].values: Required value",
			"allowedTopologies[0].matchLabelExpressions[1].key: Invalid value",
			"allowedTopologies[0].matchLabelExpressions[2].key: Duplicate value",
			"allowedTopologies[1].matchLabelExpressions[0].values[1]: Duplicate value",
			"allowedTopologies[1].matchLabelExpressions[1].values: Required value",
			"allowedTopologies[1].matchLabelExpressions[1].key: Invalid value",
			"allowedTopologies[1].matchLabelExpressions[2].key: Duplicate value",
			"allowedTopologies[1].matchLabelExpressions: Duplicate value",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := local()
			Resource().Hooks.Default(sc)
			tc.modify(sc)
			got := errKeys(Resource().Hooks.Validate(context.Background(), sc))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := local()
	Resource().Hooks.Default(old)
	sc := old.DeepCopy()
	yes := true
	sc.AllowVolumeExpansion = &yes
	sc.Annotations = map[string]string{IsDefaultAnnotation: "true"}
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), sc, old); len(errs) != 0 {
		t.Errorf("mutable changes rejected: %v", errs)
	}
	retain := corev1.PersistentVolumeReclaimRetain
	sc.Provisioner = "example.com/other"
	sc.Parameters = map[string]string{"nodePath": "/other"}
	sc.ReclaimPolicy = &retain
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), sc, old))
	want := []string{"parameters: Invalid value", "provisioner: Invalid value", "reclaimPolicy: Invalid value"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWarnings(t *testing.T) {
	sc := local()
	sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
		{Key: "topology.kubernetes.io/zone", Values: []string{"a"}},
		{Key: "failure-domain.beta.kubernetes.io/zone", Values: []string{"a"}},
	}}}
	got := Resource().Hooks.Warnings(context.Background(), sc, nil)
	want := []string{`allowedTopologies[0].matchLabelExpressions[1].key: deprecated since v1.17; use "topology.kubernetes.io/zone" instead`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	var names []string
	for _, c := range tab.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v", names)
	}

	sc := local()
	sc.Annotations = map[string]string{IsDefaultAnnotation: "true"}
	sc.CreationTimestamp = metav1.NewTime(time.Now().Add(-49 * time.Hour))
	Resource().Hooks.Default(sc)
	yes := true
	sc.AllowVolumeExpansion = &yes
	// A class alone (kubectl get storageclass NAME) is printed without
	// "(default)", as upstream's printer does.
	row, _ := tab.Row(sc)
	if want := []interface{}{"local-path", "rancher.io/local-path", "Delete", "Immediate", true, "2d1h"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %v, want %v", row, want)
	}
	// In a list, only the newest class marked default is the default.
	older := local()
	older.Name = "older"
	older.Annotations = map[string]string{IsDefaultAnnotation: "true"}
	older.CreationTimestamp = metav1.NewTime(time.Now().Add(-50 * time.Hour))
	items := []runtime.Object{older, sc}
	for _, c := range []struct {
		obj  *storagev1.StorageClass
		name string
	}{{sc, "local-path (default)"}, {older, "older"}} {
		row, _ := tab.ListRow(c.obj, items)
		if row[0] != c.name {
			t.Errorf("list row of %s: name %q, want %q", c.obj.Name, row[0], c.name)
		}
	}

	// Stored before defaulting existed: the printer shows the defaults.
	row, _ = tab.Row(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Provisioner: "example.com/x"})
	if want := []interface{}{"old", "example.com/x", "Delete", "Immediate", false, "<unknown>"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %v, want %v", row, want)
	}
}

func TestEffectiveDefault(t *testing.T) {
	at := func(name string, minutes int, def bool) storagev1.StorageClass {
		sc := storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(minutes)*60, 0))}}
		if def {
			sc.Annotations = map[string]string{BetaIsDefaultAnnotation: "true"}
		}
		return sc
	}
	cases := []struct {
		items []storagev1.StorageClass
		want  string
	}{
		{nil, ""},
		{[]storagev1.StorageClass{at("a", 1, false)}, ""},
		{[]storagev1.StorageClass{at("a", 1, true), at("b", 2, true), at("c", 3, false)}, "b"},
		{[]storagev1.StorageClass{at("z", 2, true), at("y", 2, true)}, "y"},
	}
	for _, tc := range cases {
		if got := EffectiveDefault(tc.items); got != tc.want {
			t.Errorf("EffectiveDefault = %q, want %q", got, tc.want)
		}
	}
}
