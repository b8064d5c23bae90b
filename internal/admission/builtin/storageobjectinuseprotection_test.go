package builtin

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestStorageObjectInUseProtection(t *testing.T) {
	tests := []struct {
		name string
		op   string
		obj  runtime.Object
		want []string
	}{
		{name: "a claim", op: auth.Create, obj: &corev1.PersistentVolumeClaim{}, want: []string{pvcProtectionFinalizer}},
		{name: "a volume", op: auth.Create, obj: &corev1.PersistentVolume{}, want: []string{pvProtectionFinalizer}},
		{name: "a claim that has it already", op: auth.Create,
			obj:  &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"x", pvcProtectionFinalizer}}},
			want: []string{"x", pvcProtectionFinalizer}},
		{name: "an update", op: auth.Update, obj: &corev1.PersistentVolumeClaim{}},
		{name: "another kind", op: auth.Create, obj: &corev1.ConfigMap{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &auth.AdmissionRequest{Operation: tt.op, Object: tt.obj}
			if err := (StorageObjectInUseProtection{}).Mutate(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			m := tt.obj.(metav1.Object)
			if !slices.Equal(m.GetFinalizers(), tt.want) {
				t.Errorf("finalizers %v, want %v", m.GetFinalizers(), tt.want)
			}
		})
	}
}
