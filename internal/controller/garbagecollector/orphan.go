package garbagecollector

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// processOrphan handles an owner deleted with the orphan finalizer:
// the references to it are removed from every dependent, then the
// finalizer.
func (gc *GC) processOrphan(ctx context.Context, uid types.UID) error {
	owner, ok := gc.graph.view(uid)
	if !ok {
		return nil
	}
	var errs []error
	for _, d := range owner.dependents {
		dep := view{id: d}
		if err := gc.deleteOwnerRefs(ctx, dep, []types.UID{owner.id.UID}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
			errs = append(errs, fmt.Errorf("orphan %s %s/%s: %w", d.Kind, d.Namespace, d.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return gc.removeFinalizer(ctx, owner, metav1.FinalizerOrphanDependents)
}
