package builtin

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestPersistentVolumeClaimResize(t *testing.T) {
	classes := &objects[*storagev1.StorageClass]{items: []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "expandable"}, AllowVolumeExpansion: ptr.To(true)},
		{ObjectMeta: metav1.ObjectMeta{Name: "fixed"}, AllowVolumeExpansion: ptr.To(false)},
		{ObjectMeta: metav1.ObjectMeta{Name: "unset"}},
	}}
	claim := func(class *string, size string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: class,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			},
			Status: corev1.PersistentVolumeClaimStatus{Phase: phase},
		}
	}
	withAnnotation := func(c *corev1.PersistentVolumeClaim, class string) *corev1.PersistentVolumeClaim {
		c.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: class}
		return c
	}
	const refused = `persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`
	tests := []struct {
		name        string
		op          string
		subresource string
		old, new    *corev1.PersistentVolumeClaim
		want        string
	}{
		{name: "growing, the class allows it", old: claim(ptr.To("expandable"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("expandable"), "2Gi", corev1.ClaimBound)},
		{name: "growing, the class does not", old: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("fixed"), "2Gi", corev1.ClaimBound), want: refused},
		{name: "growing, the class says nothing", old: claim(ptr.To("unset"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("unset"), "2Gi", corev1.ClaimBound), want: refused},
		{name: "growing, no such class", old: claim(ptr.To("gone"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("gone"), "2Gi", corev1.ClaimBound), want: refused},
		{name: "growing, no class", old: claim(nil, "1Gi", corev1.ClaimBound), new: claim(nil, "2Gi", corev1.ClaimBound), want: refused},
		{name: "growing, the class changes", old: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("expandable"), "2Gi", corev1.ClaimBound), want: refused},
		{name: "growing, the class in the beta annotation", old: withAnnotation(claim(nil, "1Gi", corev1.ClaimBound), "expandable"),
			new: withAnnotation(claim(nil, "2Gi", corev1.ClaimBound), "expandable")},
		{name: "growing an unbound claim", old: claim(ptr.To("expandable"), "1Gi", corev1.ClaimPending), new: claim(ptr.To("expandable"), "2Gi", corev1.ClaimPending),
			want: `persistentvolumeclaims "data" is forbidden: Only bound persistent volume claims can be expanded`},
		{name: "the same size", old: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("fixed"), "1024Mi", corev1.ClaimBound)},
		{name: "shrinking is validation's", old: claim(ptr.To("fixed"), "2Gi", corev1.ClaimBound), new: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound)},
		{name: "status", subresource: "status", old: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("fixed"), "2Gi", corev1.ClaimBound)},
		{name: "create", op: auth.Create, old: claim(ptr.To("fixed"), "1Gi", corev1.ClaimBound), new: claim(ptr.To("fixed"), "2Gi", corev1.ClaimBound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := tt.op
			if op == "" {
				op = auth.Update
			}
			r := &auth.AdmissionRequest{Operation: op, Resource: "persistentvolumeclaims", Subresource: tt.subresource,
				Namespace: "default", Name: "data", Object: tt.new, Old: tt.old}
			err := PersistentVolumeClaimResize{Classes: classes}.Admit(context.Background(), r)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("got %v, want %s", err, tt.want)
			case tt.want != "" && !apierrors.IsForbidden(err):
				t.Fatalf("not 403: %v", err)
			}
		})
	}
}
