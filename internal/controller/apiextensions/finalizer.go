package apiextensions

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresource"
	crdregistry "github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
)

// recheck is how soon a CRD whose objects are still going is looked at
// again (objects held by their own finalizers).
const recheck = time.Second

// finalize deletes every object of a deleted CRD, then removes the
// cleanup finalizer so that the CRD goes, as upstream's finalizer
// controller does; Terminating tells how far it got.
func (c *Controller) finalize(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	if !hasFinalizer(crd) {
		return nil
	}
	cond := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
		Reason: "InstanceDeletionInProgress", Message: "CustomResource deletion is in progress",
	}
	if err := c.setCondition(ctx, crd, cond); err != nil {
		return err
	}
	remaining, err := c.deleteInstances(ctx, crd)
	switch {
	case err != nil:
		cond.Reason, cond.Message = "InstanceDeletionFailed", fmt.Sprintf("could not list instances: %v", err)
	case remaining > 0:
		cond.Reason, cond.Message = "InstanceDeletionCheck", fmt.Sprintf("could not confirm zero CustomResources remaining: %d remaining", remaining)
	default:
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, "InstanceDeletionCompleted", "removed all instances"
	}
	if err := c.setCondition(ctx, crd, cond); err != nil {
		return err
	}
	if err != nil || remaining > 0 {
		return controller.RequeueAfter(recheck)
	}
	return c.removeFinalizer(ctx, crd.Name)
}

// removeFinalizer drops the cleanup finalizer with an update of the
// stored CRD: the informer's copy has no schemas (WithoutSchemas), and
// an update from it would store none.
func (c *Controller) removeFinalizer(ctx context.Context, name string) error {
	crds := c.client.ApiextensionsV1().CustomResourceDefinitions()
	crd, err := crds.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []string
	for _, f := range crd.Finalizers {
		if f != crdregistry.CleanupFinalizer {
			keep = append(keep, f)
		}
	}
	crd.Finalizers = keep
	_, err = crds.Update(ctx, crd, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func hasFinalizer(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, f := range crd.Finalizers {
		if f == crdregistry.CleanupFinalizer {
			return true
		}
	}
	return false
}

// setCondition writes a condition to the CRD's status when it changes
// (crd is updated in place with the result).
func (c *Controller) setCondition(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, cond apiextensionsv1.CustomResourceDefinitionCondition) error {
	if old := crdregistry.Condition(crd, cond.Type); old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message {
		return nil
	}
	crdregistry.SetCondition(crd, cond)
	updated, err := c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	*crd = *updated
	return nil
}

// deleteInstances deletes every object of the CRD and returns how many
// are still there (held by finalizers, or deleted just now).
func (c *Controller) deleteInstances(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	if !crdregistry.IsTrue(crd, apiextensionsv1.Established) || crd.Status.AcceptedNames.Plural == "" {
		// Never served: there is nothing of it to delete.
		return 0, nil
	}
	gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: customresource.StorageVersion(crd), Resource: crd.Status.AcceptedNames.Plural}
	client := c.dynamic.Resource(gvr)
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	remaining := 0
	for _, item := range list.Items {
		remaining++
		if item.GetDeletionTimestamp() != nil {
			continue
		}
		var err error
		if ns := item.GetNamespace(); ns != "" {
			err = client.Namespace(ns).Delete(ctx, item.GetName(), metav1.DeleteOptions{})
		} else {
			err = client.Delete(ctx, item.GetName(), metav1.DeleteOptions{})
		}
		if apierrors.IsNotFound(err) {
			remaining--
			continue
		}
		if err != nil {
			return remaining, fmt.Errorf("delete %s %s/%s: %w", gvr.Resource, item.GetNamespace(), item.GetName(), err)
		}
	}
	if remaining == 0 {
		return 0, nil
	}
	// Deleted objects without finalizers are gone now: count again.
	list, err = client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return remaining, err
	}
	return len(list.Items), nil
}
