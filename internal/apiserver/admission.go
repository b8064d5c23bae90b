package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/storage"
)

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// admitNamespace is upstream's NamespaceLifecycle admission: content goes
// only into namespaces that exist and are not being deleted.
func (s *Server) admitNamespace(ctx context.Context, namespace string) error {
	key := storage.Prefix + "namespaces/" + namespace
	// The cache answers almost always; a namespace created a moment ago may
	// not be there yet, so ask etcd before saying it does not exist.
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if storage.HasCode(err, storage.CodeNotFound) {
		return apierrors.NewNotFound(namespacesGR, namespace)
	}
	if err != nil {
		return err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		err := apierrors.NewForbidden(namespacesGR, namespace, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", namespace))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}
