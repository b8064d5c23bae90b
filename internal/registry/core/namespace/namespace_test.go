package namespace

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// errKeys turns errors into "Type field" strings for comparison.
func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestDefaultAndPrepareForCreate(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{corev1.LabelMetadataName: "spoofed"}}}
	ns.Status.Phase = corev1.NamespaceTerminating
	Default(ns)
	PrepareForCreate(ns)
	if got := ns.Labels[corev1.LabelMetadataName]; got != "team-a" {
		t.Errorf("name label = %q, want team-a", got)
	}
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("phase = %q, want Active", ns.Status.Phase)
	}
	if want := []corev1.FinalizerName{corev1.FinalizerKubernetes}; !reflect.DeepEqual(ns.Spec.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v", ns.Spec.Finalizers, want)
	}

	// A custom finalizer is kept and "kubernetes" appended once.
	ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x", "kubernetes"}}}
	PrepareForCreate(ns)
	if len(ns.Spec.Finalizers) != 2 {
		t.Errorf("finalizers = %v, want the two given", ns.Spec.Finalizers)
	}

	// generateName: no label until the name is known.
	ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}}
	Default(ns)
	if _, ok := ns.Labels[corev1.LabelMetadataName]; ok {
		t.Errorf("label set without a name: %v", ns.Labels)
	}
}

func TestPrepareForUpdateKeepsFinalizers(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	ns := old.DeepCopy()
	ns.Spec.Finalizers = nil
	PrepareForUpdate(ns, old)
	if len(ns.Spec.Finalizers) != 1 {
		t.Errorf("finalizers changed through the main resource: %v", ns.Spec.Finalizers)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		finalizers []corev1.FinalizerName
		want       []string
	}{
		{"standard", []corev1.FinalizerName{"kubernetes", "orphan"}, nil},
		{"qualified", []corev1.FinalizerName{"example.com/cleanup"}, nil},
		{"unqualified", []corev1.FinalizerName{"cleanup"}, []string{"FieldValueInvalid spec.finalizers"}},
		{"bad name", []corev1.FinalizerName{"example.com/Bad Name"}, []string{"FieldValueInvalid spec.finalizers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: tc.finalizers}}
			if got := errKeys(Validate(ns)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateStatus(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name     string
		deleting bool
		phase    corev1.NamespacePhase
		want     []string
	}{
		{"active", false, corev1.NamespaceActive, nil},
		{"terminating without deletion", false, corev1.NamespaceTerminating, []string{"FieldValueInvalid status.Phase"}},
		{"terminating", true, corev1.NamespaceTerminating, nil},
		{"active while deleting", true, corev1.NamespaceActive, []string{"FieldValueInvalid status.Phase"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.NamespaceStatus{Phase: tc.phase}}
			if tc.deleting {
				ns.DeletionTimestamp = &now
			}
			if got := errKeys(ValidateStatus(ns)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFinalize(t *testing.T) {
	r := Resource()
	act := r.Actions["finalize"]
	stored := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "7"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}

	ns := stored.DeepCopy()
	body := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	if err := act.Apply(context.Background(), ns, body); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if len(ns.Spec.Finalizers) != 0 {
		t.Errorf("finalizers = %v, want none", ns.Spec.Finalizers)
	}
	if act.Response(ns, body) != ns {
		t.Errorf("response is not the updated namespace")
	}

	ns = stored.DeepCopy()
	body = &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes", "nope"}}}
	err := act.Apply(context.Background(), ns, body)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("bad finalizer: err = %v, want Invalid", err)
	}
	if causes := err.(*apierrors.StatusError).ErrStatus.Details.Causes; len(causes) != 1 || causes[0].Field != "spec.finalizers[1]" {
		t.Errorf("causes = %+v, want one at spec.finalizers[1]", causes)
	}
	if len(ns.Spec.Finalizers) != 1 {
		t.Errorf("rejected finalize changed the object: %v", ns.Spec.Finalizers)
	}

	if err := act.Apply(context.Background(), stored.DeepCopy(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}}); !apierrors.IsBadRequest(err) {
		t.Errorf("name mismatch: err = %v, want BadRequest", err)
	}
	if err := act.Apply(context.Background(), stored.DeepCopy(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "3"}}); !apierrors.IsConflict(err) {
		t.Errorf("stale resourceVersion: err = %v, want Conflict", err)
	}
}

func TestDeletion(t *testing.T) {
	now := metav1.Now()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", DeletionTimestamp: &now}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	MarkTerminating(ns)
	if ns.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase = %q", ns.Status.Phase)
	}
	if ReadyToDelete(ns) {
		t.Errorf("ready to delete while the kubernetes finalizer holds it")
	}
	ns.Spec.Finalizers = nil
	if !ReadyToDelete(ns) {
		t.Errorf("not ready to delete with no finalizers")
	}
}

func TestTable(t *testing.T) {
	tbl := Resource().Table
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(time.Now().Add(-3 * 24 * time.Hour))}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	row, err := tbl.Row(ns)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"default", "Active", "3d"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
	if len(row) != len(tbl.Columns) {
		t.Errorf("%d cells for %d columns", len(row), len(tbl.Columns))
	}
}

func TestDeletionHooks(t *testing.T) {
	d := Resource().Deletion
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	d.Begin(ns)
	if ns.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase after Begin = %q", ns.Status.Phase)
	}
	if !d.Pending(ns) {
		t.Errorf("not pending with the kubernetes finalizer")
	}
	ns.Spec.Finalizers = nil
	if d.Pending(ns) {
		t.Errorf("pending with no spec finalizers")
	}
}
