package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// addFinalizer puts the cleanup finalizer on the service before its
// load balancer exists, so that the service cannot go without it.
func (s *Controller) addFinalizer(ctx context.Context, svc *corev1.Service) error {
	if hasFinalizer(svc) {
		return nil
	}
	updated := svc.DeepCopy()
	updated.Finalizers = append(updated.Finalizers, Finalizer)
	return s.patch(ctx, svc, updated, "")
}

// removeFinalizer lets the service go once its load balancer is gone.
func (s *Controller) removeFinalizer(ctx context.Context, svc *corev1.Service) error {
	if !hasFinalizer(svc) {
		return nil
	}
	updated := svc.DeepCopy()
	updated.Finalizers = slices.DeleteFunc(updated.Finalizers, func(f string) bool { return f == Finalizer })
	return s.patch(ctx, svc, updated, "")
}

// patchStatus writes status.loadBalancer when it changed. A service
// that is gone needs no status.
func (s *Controller) patchStatus(ctx context.Context, svc *corev1.Service, status *corev1.LoadBalancerStatus) error {
	if statusEqual(&svc.Status.LoadBalancer, status) {
		return nil
	}
	updated := svc.DeepCopy()
	updated.Status.LoadBalancer = *status
	if err := s.patch(ctx, svc, updated, "status"); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to update load balancer status: %w", err)
	}
	return nil
}

// patch sends the strategic merge patch from old to updated, as
// upstream's service helper: it touches only what changed, so that a
// writer of other fields is not overwritten.
func (s *Controller) patch(ctx context.Context, old, updated *corev1.Service, subresource string) error {
	oldJSON, err := json.Marshal(old)
	if err != nil {
		return err
	}
	newJSON, err := json.Marshal(updated)
	if err != nil {
		return err
	}
	p, err := strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, corev1.Service{})
	if err != nil {
		return fmt.Errorf("patch for service %s/%s: %w", old.Namespace, old.Name, err)
	}
	var subs []string
	if subresource != "" {
		subs = []string{subresource}
	}
	_, err = s.client.CoreV1().Services(old.Namespace).Patch(ctx, old.Name, types.StrategicMergePatchType, p, metav1.PatchOptions{}, subs...)
	return err
}
