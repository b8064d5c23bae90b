package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// RefManager adopts and releases the objects (pods, ControllerRevisions)
// of one controller object by its selector, as upstream's
// ControllerRefManager: an orphan the selector matches is adopted (a
// controller ownerReference is patched in), an owned object it no longer
// matches is released (the reference patched out). Build one per sync.
type RefManager struct {
	Owner    metav1.Object
	Kind     schema.GroupVersionKind
	Selector labels.Selector
	// CanAdopt is called once, before the first adoption, to recheck on
	// the live object that the owner may still adopt (see RecheckOwner).
	// Nil allows adoption.
	CanAdopt func(ctx context.Context) error
	// Patch applies a strategic merge patch to the named object of the
	// owner's namespace (PodPatcher, RevisionPatcher).
	Patch func(ctx context.Context, namespace, name string, patch []byte) error
	// Finalizers are added on adoption and removed on release (the Job
	// controller's tracking finalizer).
	Finalizers []string

	once   sync.Once
	canErr error
}

// Claim returns the objects the owner controls after adopting orphans
// that match its selector (and every filter) and releasing owned objects
// that no longer do. Objects of other controllers are left alone; nothing
// is adopted or released while the owner is being deleted. The error is
// the first failed adoption or release: retry the sync.
func Claim[T metav1.Object](ctx context.Context, m *RefManager, objs []T, filters ...func(T) bool) ([]T, error) {
	var claimed []T
	var firstErr error
	for _, obj := range objs {
		match := m.Selector.Matches(labels.Set(obj.GetLabels()))
		for _, f := range filters {
			match = match && f(obj)
		}
		ok, err := m.claim(ctx, obj, match)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	return claimed, firstErr
}

func (m *RefManager) claim(ctx context.Context, obj metav1.Object, match bool) (bool, error) {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != m.Owner.GetUID() {
			return false, nil
		}
		if match {
			return true, nil
		}
		if m.Owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := m.release(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		return false, nil
	}
	if !match || m.Owner.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil ||
		obj.GetNamespace() != m.Owner.GetNamespace() {
		return false, nil
	}
	if err := m.adopt(ctx, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (m *RefManager) adopt(ctx context.Context, obj metav1.Object) error {
	m.once.Do(func() {
		if m.CanAdopt != nil {
			m.canErr = m.CanAdopt(ctx)
		}
	})
	if m.canErr != nil {
		return fmt.Errorf("can't adopt %s %s/%s: %w", m.Kind.Kind, obj.GetNamespace(), obj.GetName(), m.canErr)
	}
	patch, err := AdoptPatch(m.Owner, m.Kind, obj.GetUID(), m.Finalizers...)
	if err != nil {
		return err
	}
	if err := m.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch); err != nil {
		return fmt.Errorf("adopt %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func (m *RefManager) release(ctx context.Context, obj metav1.Object) error {
	patch, err := ReleasePatch(obj.GetUID(), m.Owner.GetUID(), m.Finalizers...)
	if err != nil {
		return err
	}
	if err := m.Patch(ctx, obj.GetNamespace(), obj.GetName(), patch); err != nil {
		if apierrors.IsInvalid(err) {
			// The object changed UID under us (deleted and recreated) or
			// its reference is already gone: nothing left to release.
			return nil
		}
		return fmt.Errorf("release %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// ControllerRef is the ownerReference a controller sets on what it makes.
func ControllerRef(owner metav1.Object, kind schema.GroupVersionKind) *metav1.OwnerReference {
	t := true
	return &metav1.OwnerReference{
		APIVersion:         kind.GroupVersion().String(),
		Kind:               kind.Kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		Controller:         &t,
		BlockOwnerDeletion: &t,
	}
}

// ResolveControllerRef returns the object a controller reference names,
// read from a cache by name, if it is of kind and still the object
// referred to (same UID); else the zero T (nil for pointers).
func ResolveControllerRef[T metav1.Object](ref *metav1.OwnerReference, kind string, get func(name string) (T, error)) T {
	var zero T
	if ref.Kind != kind {
		return zero
	}
	obj, err := get(ref.Name)
	if err != nil || obj.GetUID() != ref.UID {
		return zero
	}
	return obj
}

// AdoptPatch is the strategic merge patch that makes owner the controller
// of the object with uid (the uid guards against a recreated object).
func AdoptPatch(owner metav1.Object, kind schema.GroupVersionKind, uid types.UID, finalizers ...string) ([]byte, error) {
	meta := map[string]any{
		"uid":             uid,
		"ownerReferences": []metav1.OwnerReference{*ControllerRef(owner, kind)},
	}
	if len(finalizers) > 0 {
		meta["finalizers"] = finalizers
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// ReleasePatch is the strategic merge patch that removes the reference to
// owner (and finalizers) from the object with uid.
func ReleasePatch(uid, owner types.UID, finalizers ...string) ([]byte, error) {
	meta := map[string]any{
		"uid":             uid,
		"ownerReferences": []map[string]string{{"$patch": "delete", "uid": string(owner)}},
	}
	if len(finalizers) > 0 {
		meta["$deleteFromPrimitiveList/finalizers"] = finalizers
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// RecheckOwner returns a CanAdopt that reads the owner live (not from a
// cache) and refuses adoption if it was deleted, replaced by another
// object of the same name, or is being deleted.
func RecheckOwner(uid types.UID, get func(ctx context.Context) (metav1.Object, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		obj, err := get(ctx)
		if err != nil {
			return fmt.Errorf("can't recheck DeletionTimestamp: %w", err)
		}
		if obj.GetUID() != uid {
			return fmt.Errorf("original %s/%s is gone: got uid %s, wanted %s", obj.GetNamespace(), obj.GetName(), obj.GetUID(), uid)
		}
		if ts := obj.GetDeletionTimestamp(); ts != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", obj.GetNamespace(), obj.GetName(), ts)
		}
		return nil
	}
}

// PodPatcher patches pods for a RefManager.
func PodPatcher(client kubernetes.Interface) func(ctx context.Context, namespace, name string, patch []byte) error {
	return func(ctx context.Context, namespace, name string, patch []byte) error {
		_, err := client.CoreV1().Pods(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}

// RevisionPatcher patches ControllerRevisions for a RefManager.
func RevisionPatcher(client kubernetes.Interface) func(ctx context.Context, namespace, name string, patch []byte) error {
	return func(ctx context.Context, namespace, name string, patch []byte) error {
		_, err := client.AppsV1().ControllerRevisions(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}
