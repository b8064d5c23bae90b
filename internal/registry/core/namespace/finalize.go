package namespace

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// finalizeAction serves namespaces/finalize: the body is a Namespace whose
// spec.finalizers replace the stored ones. The namespace controller calls
// it to drop "kubernetes" once the namespace is empty; after that, a
// namespace being deleted with no finalizers left is removed (see
// ReadyToDelete).
func finalizeAction() *registry.Action {
	return &registry.Action{
		New: func() runtime.Object { return &corev1.Namespace{} },
		Apply: func(_ context.Context, obj, body runtime.Object) error {
			return Finalize(obj.(*corev1.Namespace), body.(*corev1.Namespace))
		},
		Response: func(obj, _ runtime.Object) runtime.Object { return obj },
	}
}

// Finalize applies a finalize request to ns (a copy of the stored
// namespace).
func Finalize(ns, body *corev1.Namespace) error {
	gr := schema.GroupResource{Resource: "namespaces"}
	if body.Name != "" && body.Name != ns.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", body.Name, ns.Name))
	}
	if body.ResourceVersion != "" && body.ResourceVersion != ns.ResourceVersion {
		return apierrors.NewConflict(gr, ns.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for i, f := range body.Spec.Finalizers {
		errs = append(errs, validateFinalizer(string(f), p.Index(i))...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Namespace"}, ns.Name, errs)
	}
	ns.Spec.Finalizers = append([]corev1.FinalizerName(nil), body.Spec.Finalizers...)
	return nil
}
