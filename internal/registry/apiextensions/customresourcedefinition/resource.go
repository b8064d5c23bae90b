// Package customresourcedefinition serves apiextensions.k8s.io/v1
// CustomResourceDefinitions: the objects that add kinds to the API. The
// API server serves the kinds they define (registry/apiextensions/
// customresource); the naming, establishing and cleanup controllers
// (controller/apiextensions) fill in their status.
package customresourcedefinition

import (
	"context"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// StoragePrefix is where CRDs live under /registry, as upstream keeps them.
const StoragePrefix = "apiextensions.k8s.io/customresourcedefinitions"

// CleanupFinalizer holds a deleted CRD until every object of it is gone.
const CleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

// Resource returns the customresourcedefinitions resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     apiextensionsv1.SchemeGroupVersion,
		Resource:         "customresourcedefinitions",
		Kind:             "CustomResourceDefinition",
		SingularName:     "customresourcedefinition",
		ShortNames:       []string{"crd", "crds"},
		Categories:       []string{"api-extensions"},
		StoragePrefix:    StoragePrefix,
		New:              func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} },
		NewList:          func() runtime.Object { return &apiextensionsv1.CustomResourceDefinitionList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*apiextensionsv1.CustomResourceDefinition)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				crd := obj.(*apiextensionsv1.CustomResourceDefinition)
				crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
				addStoredVersion(crd)
			},
			PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
				addStoredVersion(obj.(*apiextensionsv1.CustomResourceDefinition))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return ValidateCreate(obj.(*apiextensionsv1.CustomResourceDefinition))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				o, _ := old.(*apiextensionsv1.CustomResourceDefinition)
				return Warnings(obj.(*apiextensionsv1.CustomResourceDefinition), o)
			},
		},
		StatusHooks: registry.StatusHooks{
			// Upstream's CRD status strategy means to reset metadata but
			// resets the new object's from itself, and its reset fields
			// follow (kubernetes#137681): the request's metadata stays.
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
			},
		},
		Deletion: &registry.Deletion{
			// Every first delete waits for the cleanup finalizer, which
			// Begin adds: the objects of the CRD go first.
			Pending: func(obj runtime.Object) bool {
				return obj.(*apiextensionsv1.CustomResourceDefinition).DeletionTimestamp == nil
			},
			Begin: func(obj runtime.Object) { beginDeletion(obj.(*apiextensionsv1.CustomResourceDefinition)) },
		},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.CreatedAtColumn},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				crd := obj.(*apiextensionsv1.CustomResourceDefinition)
				return []interface{}{crd.Name, printers.CreatedAt(crd.CreationTimestamp)}, nil
			},
		},
	}
}

// addStoredVersion records the storage version in status.storedVersions,
// as upstream's strategy does on create and update.
func addStoredVersion(crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if !v.Storage {
			continue
		}
		for _, s := range crd.Status.StoredVersions {
			if s == v.Name {
				return
			}
		}
		crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
		return
	}
}

// beginDeletion adds the cleanup finalizer and the Terminating condition,
// as upstream's CRD storage does on the first delete.
func beginDeletion(crd *apiextensionsv1.CustomResourceDefinition) {
	has := false
	for _, f := range crd.Finalizers {
		has = has || f == CleanupFinalizer
	}
	if !has {
		crd.Finalizers = append(crd.Finalizers, CleanupFinalizer)
	}
	SetCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
		Reason: "InstanceDeletionPending", Message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
	})
}

// SetCondition sets a status condition, keeping its last transition time
// when its status does not change.
func SetCondition(crd *apiextensionsv1.CustomResourceDefinition, c apiextensionsv1.CustomResourceDefinitionCondition) {
	c.LastTransitionTime = metav1.Now()
	for i, old := range crd.Status.Conditions {
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status && !old.LastTransitionTime.IsZero() {
			c.LastTransitionTime = old.LastTransitionTime
		}
		crd.Status.Conditions[i] = c
		return
	}
	crd.Status.Conditions = append(crd.Status.Conditions, c)
}

// Condition returns the condition of type t, or nil.
func Condition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) *apiextensionsv1.CustomResourceDefinitionCondition {
	for i := range crd.Status.Conditions {
		if crd.Status.Conditions[i].Type == t {
			return &crd.Status.Conditions[i]
		}
	}
	return nil
}

// IsTrue reports whether the condition of type t is True.
func IsTrue(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	c := Condition(crd, t)
	return c != nil && c.Status == apiextensionsv1.ConditionTrue
}
