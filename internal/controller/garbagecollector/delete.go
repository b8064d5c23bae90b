package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// processDelete looks at one object whose owners may be gone, or which
// waits for its dependents to go: it deletes it, removes references that
// no longer hold, or removes its foregroundDeletion finalizer.
func (gc *GC) processDelete(ctx context.Context, uid types.UID) error {
	item, ok := gc.graph.view(uid)
	if !ok {
		return nil
	}
	if item.virtual {
		return gc.checkVirtual(ctx, item)
	}
	if item.beingDeleted && !item.deletingDependents {
		return nil
	}
	if item.deletingDependents {
		return gc.processDeletingDependents(ctx, item)
	}
	if len(item.owners) == 0 {
		return nil
	}
	var solid, dangling, waiting []metav1.OwnerReference
	for _, o := range item.owners {
		state, err := gc.ownerState(ctx, item, o)
		if err != nil {
			return err
		}
		switch state {
		case ownerAbsent:
			dangling = append(dangling, o)
		case ownerDeletingDependents:
			waiting = append(waiting, o)
		default:
			solid = append(solid, o)
		}
	}
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Still owned: only drop the references that no longer hold.
		var uids []types.UID
		for _, o := range append(dangling, waiting...) {
			uids = append(uids, o.UID)
		}
		return gc.deleteOwnerRefs(ctx, item, uids)
	case len(waiting) > 0 && len(item.dependents) > 0:
		// An owner waits for us, and we have dependents of our own: go
		// in the foreground too. If a dependent also waits in the
		// foreground, first stop blocking our owners, or we would wait
		// on each other forever.
		for _, d := range item.dependents {
			if item.deletingDeps[d.UID] {
				if err := gc.unblockOwners(ctx, item); err != nil {
					return err
				}
				break
			}
		}
		return gc.delete(ctx, item, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case item.orphanFinalizer:
			policy = metav1.DeletePropagationOrphan
		case item.foregroundFinal:
			policy = metav1.DeletePropagationForeground
		}
		return gc.delete(ctx, item, policy)
	}
}

type ownerStatus int

const (
	ownerSolid ownerStatus = iota
	ownerAbsent
	ownerDeletingDependents
)

// ownerState says whether an owner exists: from the graph when it has
// seen it (its deletion, when it comes, brings the dependents back here),
// else from the API (a GET), remembering absent owners.
func (gc *GC) ownerState(ctx context.Context, item view, o metav1.OwnerReference) (ownerStatus, error) {
	key := ref{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID, Namespace: item.id.Namespace}
	if gc.absent.has(key) {
		return ownerAbsent, nil
	}
	if observed, waiting := gc.graph.ownerState(o); observed {
		if waiting {
			return ownerDeletingDependents, nil
		}
		return ownerSolid, nil
	}
	gvr, namespaced, err := gc.resourceFor(o.APIVersion, o.Kind)
	if err != nil {
		return ownerSolid, fmt.Errorf("owner %s %s of %s: %w", o.Kind, o.Name, item.id.Name, err)
	}
	if !namespaced {
		key.Namespace = ""
	} else if item.id.Namespace == "" {
		// A cluster-scoped object cannot have a namespaced owner; leave it.
		return ownerSolid, nil
	}
	owner, err := gc.metadata.Resource(gvr).Namespace(key.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.add(key)
		return ownerAbsent, nil
	case err != nil:
		return ownerSolid, err
	case owner.UID != o.UID:
		gc.absent.add(key)
		return ownerAbsent, nil
	case owner.DeletionTimestamp != nil && hasFinalizer(owner, metav1.FinalizerDeleteDependents):
		return ownerDeletingDependents, nil
	}
	return ownerSolid, nil
}

// checkVirtual verifies an owner the graph has only heard of: if it does
// not exist, the graph forgets it and its dependents are looked at.
func (gc *GC) checkVirtual(ctx context.Context, item view) error {
	client, _, err := gc.clientFor(item.id)
	if err != nil {
		return err
	}
	obj, err := client.Get(ctx, item.id.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && obj.UID != item.id.UID) {
		gc.addChange(&change{typ: deletion, virtual: true, id: item.id})
		return nil
	}
	return err
}

// processDeletingDependents: an owner being deleted in the foreground
// loses its finalizer once no dependent blocks it; until then its
// blocking dependents are deleted.
func (gc *GC) processDeletingDependents(ctx context.Context, item view) error {
	if len(item.blocking) == 0 {
		return gc.removeFinalizer(ctx, item, metav1.FinalizerDeleteDependents)
	}
	for _, d := range item.blocking {
		if !item.deletingDeps[d.UID] {
			gc.attemptToDelete.Add(d.UID)
		}
	}
	return nil
}

// delete deletes an item as its graph entry describes it: the UID and
// resourceVersion the decision was made on are preconditions.
func (gc *GC) delete(ctx context.Context, item view, policy metav1.DeletionPropagation) error {
	client, _, err := gc.clientFor(item.id)
	if err != nil {
		return err
	}
	uid := item.id.UID
	err = client.Delete(ctx, item.id.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &item.resourceVersion},
		PropagationPolicy: &policy,
	})
	switch {
	case apierrors.IsNotFound(err):
		gc.addChange(&change{typ: deletion, virtual: true, id: item.id})
		return nil
	case apierrors.IsConflict(err):
		// Changed since we looked: the watch brings the change, and the
		// item is looked at again then.
		return fmt.Errorf("delete %s %s/%s: %w", item.id.Kind, item.id.Namespace, item.id.Name, err)
	case err != nil:
		return err
	}
	gc.log.Debug("deleted", "kind", item.id.Kind, "namespace", item.id.Namespace, "name", item.id.Name, "propagation", policy)
	return nil
}

// removeFinalizer removes one finalizer, guarded by the resourceVersion
// the graph holds.
func (gc *GC) removeFinalizer(ctx context.Context, item view, finalizer string) error {
	client, _, err := gc.clientFor(item.id)
	if err != nil {
		return err
	}
	obj, err := client.Get(ctx, item.id.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if obj.UID != item.id.UID {
		return nil
	}
	keep := []string{}
	found := false
	for _, f := range obj.Finalizers {
		if f == finalizer {
			found = true
			continue
		}
		keep = append(keep, f)
	}
	if !found {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers":      keep,
		"resourceVersion": obj.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, item.id.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
