package apiserver

import (
	"context"
	"reflect"
	"time"

	"github.com/google/uuid"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// maxGeneratedNameLength leaves room for the random suffix within the
// 63 characters most names allow, as upstream's name generator does.
const (
	randomLength           = 5
	maxGeneratedNameLength = 63 - randomLength
)

func generateName(base string) string {
	if len(base) > maxGeneratedNameLength {
		base = base[:maxGeneratedNameLength]
	}
	return base + utilrand.String(randomLength)
}

// prepareCreate sets the fields the server owns on a new object: uid,
// creationTimestamp, generation; clears status for kinds with a status
// subresource; then runs the kind's own PrepareForCreate.
func prepareCreate(ctx context.Context, ep *endpoint, obj runtime.Object) {
	m, _ := meta.Accessor(obj)
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(generateName(m.GetGenerateName()))
	}
	m.SetUID(types.UID(uuid.NewString()))
	m.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	if ep.TracksGeneration {
		m.SetGeneration(1)
	} else {
		m.SetGeneration(0)
	}
	if ep.HasStatus && !ep.KeepStatusOnCreate {
		resetField(obj, "Status")
	}
	if ep.Hooks.PrepareForCreate != nil {
		ep.Hooks.PrepareForCreate(ctx, obj)
	}
}

// prepareUpdate keeps what an update of the main resource may not change:
// identity, deletion state and (with a status subresource) status; it bumps
// generation when the spec changed.
func prepareUpdate(ctx context.Context, ep *endpoint, obj, old runtime.Object) {
	m, _ := meta.Accessor(obj)
	om, _ := meta.Accessor(old)
	keepSystemMeta(m, om)
	if ep.HasStatus {
		copyField(obj, old, "Status")
	}
	m.SetGeneration(om.GetGeneration())
	if ep.TracksGeneration && specChanged(ep, obj, old) {
		m.SetGeneration(om.GetGeneration() + 1)
	}
	if ep.Hooks.PrepareForUpdate != nil {
		ep.Hooks.PrepareForUpdate(ctx, obj, old)
	}
}

// prepareStatusUpdate keeps everything but status (and resourceVersion)
// from the stored object, and the metadata the kind's status strategy
// upstream resets (registry.StatusMeta).
func prepareStatusUpdate(ctx context.Context, ep *endpoint, obj, old runtime.Object, subresource string) {
	h := statusHooks(ep, subresource)
	keepStatusMeta(h.Meta, obj, old)
	if !h.Spec {
		copyAllBut(obj, old, "TypeMeta", "ObjectMeta", "Status")
	}
	if h.PrepareForUpdate != nil {
		h.PrepareForUpdate(ctx, obj, old)
	}
}

// keepStatusMeta gives obj the stored metadata a status update of a kind
// may not change: identity and deletion always, the rest as mode says.
func keepStatusMeta(mode registry.StatusMeta, obj, old runtime.Object) {
	if mode == registry.StatusMetaAllStored {
		m, _ := meta.Accessor(obj)
		managed := m.GetManagedFields()
		copyField(obj, old.DeepCopyObject(), "ObjectMeta")
		m, _ = meta.Accessor(obj)
		m.SetManagedFields(managed)
		return
	}
	m, _ := meta.Accessor(obj)
	om, _ := meta.Accessor(old)
	keepSystemMeta(m, om)
	m.SetGeneration(om.GetGeneration())
	stored := statusStoredMeta(mode)
	if stored.labels {
		m.SetLabels(om.GetLabels())
	}
	if stored.annotations {
		m.SetAnnotations(om.GetAnnotations())
	}
	if stored.finalizers {
		m.SetFinalizers(om.GetFinalizers())
	}
	if stored.ownerReferences {
		m.SetOwnerReferences(om.GetOwnerReferences())
	}
}

// storedMeta names the metadata a status update keeps as stored.
type storedMeta struct{ labels, annotations, finalizers, ownerReferences bool }

func statusStoredMeta(mode registry.StatusMeta) storedMeta {
	switch mode {
	case registry.StatusMetaRequest:
		return storedMeta{}
	case registry.StatusMetaRequestButOwners:
		return storedMeta{ownerReferences: true}
	case registry.StatusMetaRequestButLabels:
		return storedMeta{labels: true}
	}
	return storedMeta{labels: true, annotations: true, finalizers: true, ownerReferences: true}
}

func keepSystemMeta(m, old metav1.Object) {
	if m.GetUID() == "" {
		m.SetUID(old.GetUID())
	}
	m.SetCreationTimestamp(old.GetCreationTimestamp())
	m.SetDeletionTimestamp(old.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	m.SetSelfLink("")
	if m.GetNamespace() == "" {
		m.SetNamespace(old.GetNamespace())
	}
}

// validateCreate runs the generic ObjectMeta checks and the kind's own.
func validateCreate(ctx context.Context, ep *endpoint, obj runtime.Object) field.ErrorList {
	m, _ := meta.Accessor(obj)
	errs := apivalidation.ValidateObjectMetaAccessor(m, ep.Namespaced, nameValidation(ep), field.NewPath("metadata"))
	if ep.Hooks.Validate != nil {
		errs = append(errs, ep.Hooks.Validate(ctx, obj)...)
	}
	return errs
}

// validateUpdate runs the generic ObjectMeta update checks and the kind's.
func validateUpdate(ctx context.Context, ep *endpoint, obj, old runtime.Object, status bool, subresource string) field.ErrorList {
	m, _ := meta.Accessor(obj)
	om, _ := meta.Accessor(old)
	errs := apivalidation.ValidateObjectMetaAccessor(m, ep.Namespaced, nameValidation(ep), field.NewPath("metadata"))
	errs = append(errs, apivalidation.ValidateObjectMetaAccessorUpdate(m, om, field.NewPath("metadata"))...)
	switch {
	case status && statusHooks(ep, subresource).ValidateUpdate != nil:
		errs = append(errs, statusHooks(ep, subresource).ValidateUpdate(ctx, obj, old)...)
	case !status && ep.Hooks.ValidateUpdate != nil:
		errs = append(errs, ep.Hooks.ValidateUpdate(ctx, obj, old)...)
	}
	return errs
}

func nameValidation(ep *endpoint) apivalidation.ValidateNameFunc {
	if ep.NameValidation != nil {
		return ep.NameValidation
	}
	return apivalidation.NameIsDNSSubdomain
}

// specChanged reports whether anything outside metadata and status
// differs: what bumps metadata.generation.
func specChanged(ep *endpoint, obj, old runtime.Object) bool {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return unstructuredSpecChanged(u, old, ep.HasStatus)
	}
	a, b := structOf(obj), structOf(old)
	if !a.IsValid() || !b.IsValid() {
		return false
	}
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		if !apiequality.Semantic.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			return true
		}
	}
	return false
}

func structOf(obj runtime.Object) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem()
}

// resetField sets a top-level field to its zero value.
func resetField(obj runtime.Object, name string) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		delete(u.Object, unstructuredKey(name))
		return
	}
	if v := structOf(obj); v.IsValid() {
		if f := v.FieldByName(name); f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
}

// copyField copies a top-level field from src to dst (same type).
func copyField(dst, src runtime.Object, name string) {
	if u, ok := dst.(*unstructured.Unstructured); ok {
		copyUnstructuredField(u, src, unstructuredKey(name))
		return
	}
	d, s := structOf(dst), structOf(src)
	if !d.IsValid() || !s.IsValid() || d.Type() != s.Type() {
		return
	}
	if f := d.FieldByName(name); f.IsValid() && f.CanSet() {
		f.Set(s.FieldByName(name))
	}
}

// copyAllBut copies every top-level field but the named ones.
func copyAllBut(dst, src runtime.Object, except ...string) {
	if u, ok := dst.(*unstructured.Unstructured); ok {
		copyUnstructuredAllBut(u, src, except)
		return
	}
	d, s := structOf(dst), structOf(src)
	if !d.IsValid() || !s.IsValid() || d.Type() != s.Type() {
		return
	}
	t := d.Type()
next:
	for i := 0; i < t.NumField(); i++ {
		for _, e := range except {
			if t.Field(i).Name == e {
				continue next
			}
		}
		if d.Field(i).CanSet() {
			d.Field(i).Set(s.Field(i))
		}
	}
}
