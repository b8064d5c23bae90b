package builtin

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestDefaultStorageClass(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := func(name string, def string, created time.Time) *storagev1.StorageClass {
		c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}}
		if def != "" {
			c.Annotations = map[string]string{def: "true"}
		}
		return c
	}
	ga, beta := "storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"
	str := func(s string) *string { return &s }
	tests := []struct {
		name        string
		classes     []*storagev1.StorageClass
		listErr     error
		op          string
		subresource string
		class       *string
		annotation  string
		want        *string
		wantErr     string
	}{
		{name: "no class gets the default", classes: []*storagev1.StorageClass{sc("slow", "", t0), sc("local-path", ga, t0)}, op: auth.Create, want: str("local-path")},
		{name: "the beta annotation counts", classes: []*storagev1.StorageClass{sc("old", beta, t0)}, op: auth.Create, want: str("old")},
		{name: "several defaults: the newest", classes: []*storagev1.StorageClass{sc("a", ga, t0), sc("b", ga, t0.Add(time.Hour)), sc("c", ga, t0)}, op: auth.Create, want: str("b")},
		{name: "several of one age: the first by name", classes: []*storagev1.StorageClass{sc("b", ga, t0), sc("a", ga, t0)}, op: auth.Create, want: str("a")},
		{name: "no default: nothing", classes: []*storagev1.StorageClass{sc("slow", "", t0)}, op: auth.Create},
		{name: `"" means no class`, classes: []*storagev1.StorageClass{sc("local-path", ga, t0)}, op: auth.Create, class: str(""), want: str("")},
		{name: "a named class stays", classes: []*storagev1.StorageClass{sc("local-path", ga, t0)}, op: auth.Create, class: str("fast"), want: str("fast")},
		{name: "the beta class annotation is a class", classes: []*storagev1.StorageClass{sc("local-path", ga, t0)}, op: auth.Create, annotation: "fast"},
		{name: "an update is left alone", classes: []*storagev1.StorageClass{sc("local-path", ga, t0)}, op: auth.Update},
		{name: "a subresource is left alone", classes: []*storagev1.StorageClass{sc("local-path", ga, t0)}, op: auth.Create, subresource: "status"},
		{name: "classes unreadable", listErr: errors.New("etcd down"), op: auth.Create,
			wantErr: `persistentvolumeclaims "data" is forbidden: etcd down`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultStorageClass{Classes: &objects[*storagev1.StorageClass]{items: tt.classes, err: tt.listErr}}
			pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: tt.class}}
			if tt.annotation != "" {
				pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: tt.annotation}
			}
			err := p.Mutate(context.Background(), &auth.AdmissionRequest{Operation: tt.op, Subresource: tt.subresource, Name: "data", Namespace: "default", Object: pvc})
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			got := pvc.Spec.StorageClassName
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("storageClassName = %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return `"` + *s + `"`
}
