package builtin

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
)

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// NamespaceLifecycle is upstream's NamespaceLifecycle admission: content
// is created only in namespaces that exist and are not being deleted.
// (Deleting the system namespaces is refused by the namespace registry.)
type NamespaceLifecycle struct {
	Namespaces Reader[*corev1.Namespace]
}

// Mutate implements auth.MutatingAdmission; it changes nothing.
func (p NamespaceLifecycle) Mutate(ctx context.Context, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Create || !r.Namespaced {
		return nil
	}
	ns, err := p.Namespaces.Get(ctx, "", r.Namespace)
	if err != nil {
		return err
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		err := apierrors.NewForbidden(namespacesGR, r.Namespace, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", r.Namespace))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", r.Namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}
