package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
)

// deleteOwnerRefs removes the references to owners from an item.
func (gc *GC) deleteOwnerRefs(ctx context.Context, item view, owners []types.UID) error {
	refs := make([]map[string]string, 0, len(owners))
	for _, o := range owners {
		refs = append(refs, map[string]string{"$patch": "delete", "uid": string(o)})
	}
	return gc.patchOwnerRefs(ctx, item, refs, func(cur []metav1.OwnerReference) []metav1.OwnerReference {
		return slices.DeleteFunc(cur, func(r metav1.OwnerReference) bool { return slices.Contains(owners, r.UID) })
	})
}

// unblockOwners sets blockOwnerDeletion false on every reference of an
// item (breaking a foreground cycle).
func (gc *GC) unblockOwners(ctx context.Context, item view) error {
	var refs []map[string]any
	for _, o := range item.owners {
		if blocks(o) {
			refs = append(refs, map[string]any{"uid": o.UID, "blockOwnerDeletion": false})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return gc.patchOwnerRefs(ctx, item, refs, func(cur []metav1.OwnerReference) []metav1.OwnerReference {
		for i := range cur {
			if blocks(cur[i]) {
				cur[i].BlockOwnerDeletion = new(bool)
			}
		}
		return cur
	})
}

// patchOwnerRefs changes an item's ownerReferences with a strategic merge
// patch of refs (one request, no read). Custom resources take no
// strategic merge patch (415): they get edit applied to the list they
// hold now, as a JSON merge patch of the whole list guarded by their
// resourceVersion, as upstream's collector does.
func (gc *GC) patchOwnerRefs(ctx context.Context, item view, refs any, edit func([]metav1.OwnerReference) []metav1.OwnerReference) error {
	client, gr, err := gc.clientFor(item.id)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": item.id.UID, "ownerReferences": refs}})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, item.id.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsUnsupportedMediaType(err) {
		err = mergeOwnerRefs(ctx, item, client, gr, edit)
	}
	if apierrors.IsNotFound(err) {
		gc.addChange(&change{typ: deletion, virtual: true, id: item.id})
		return nil
	}
	return err
}

// mergeOwnerRefs is patchOwnerRefs' JSON merge patch.
func mergeOwnerRefs(ctx context.Context, item view, client metadata.ResourceInterface, gr schema.GroupResource,
	edit func([]metav1.OwnerReference) []metav1.OwnerReference) error {
	cur, err := client.Get(ctx, item.id.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.UID != item.id.UID {
		return apierrors.NewNotFound(gr, item.id.Name) // another object of that name
	}
	refs := edit(slices.Clone(cur.OwnerReferences))
	if refs == nil {
		refs = []metav1.OwnerReference{} // null would not clear the list
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": item.id.UID, "resourceVersion": cur.ResourceVersion, "ownerReferences": refs,
	}})
	if err != nil {
		return err
	}
	if _, err := client.Patch(ctx, item.id.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("merge patch of ownerReferences: %w", err)
	}
	return nil
}
