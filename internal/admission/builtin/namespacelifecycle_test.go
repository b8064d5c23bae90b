package builtin

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestNamespaceLifecycle(t *testing.T) {
	now := metav1.Now()
	namespaces := &objects[*corev1.Namespace]{items: []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		{ObjectMeta: metav1.ObjectMeta{Name: "going"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		{ObjectMeta: metav1.ObjectMeta{Name: "deleted", DeletionTimestamp: &now}},
	}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	tests := []struct {
		name       string
		op         string
		namespace  string
		namespaced bool
		readErr    error
		wantErr    string
		wantCause  bool
	}{
		{name: "create in a live namespace", op: auth.Create, namespace: "live", namespaced: true},
		{name: "create in a namespace that does not exist", op: auth.Create, namespace: "nope", namespaced: true, wantErr: `things "nope" not found`},
		{name: "create in a terminating namespace", op: auth.Create, namespace: "going", namespaced: true,
			wantErr: `namespaces "going" is forbidden: unable to create new content in namespace going because it is being terminated`, wantCause: true},
		{name: "create in a namespace being deleted", op: auth.Create, namespace: "deleted", namespaced: true,
			wantErr: `namespaces "deleted" is forbidden: unable to create new content in namespace deleted because it is being terminated`, wantCause: true},
		{name: "update in a terminating namespace", op: auth.Update, namespace: "going", namespaced: true},
		{name: "delete in a terminating namespace", op: auth.Delete, namespace: "going", namespaced: true},
		{name: "cluster-scoped create", op: auth.Create},
		{name: "the cache fails", op: auth.Create, namespace: "live", namespaced: true, readErr: errors.New("etcd is down"), wantErr: "etcd is down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NamespaceLifecycle{Namespaces: &objects[*corev1.Namespace]{items: namespaces.items, err: tt.readErr}}
			r := &auth.AdmissionRequest{Operation: tt.op, Resource: "configmaps", Namespace: tt.namespace, Name: "c", Namespaced: tt.namespaced, Object: cm}
			err := p.Mutate(context.Background(), r)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			var status *apierrors.StatusError
			if tt.wantCause {
				if !errors.As(err, &status) || len(status.ErrStatus.Details.Causes) != 1 || status.ErrStatus.Details.Causes[0].Type != corev1.NamespaceTerminatingCause {
					t.Errorf("no %s cause in %#v", corev1.NamespaceTerminatingCause, err)
				}
			}
		})
	}
}
