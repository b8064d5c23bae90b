// Package flowschema serves flowcontrol.apiserver.k8s.io/v1 flow schemas:
// which requests (by subject, verb, resource or path) go to which priority
// level of API Priority and Fairness.
package flowschema

import (
	"context"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the flowschemas resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: flowcontrolv1.SchemeGroupVersion,
		Resource:     "flowschemas",
		Kind:         "FlowSchema",
		SingularName: "flowschema",
		New:          func() runtime.Object { return &flowcontrolv1.FlowSchema{} },
		NewList:      func() runtime.Object { return &flowcontrolv1.FlowSchemaList{} },
		// Status is the server's (the Dangling condition).
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*flowcontrolv1.FlowSchema)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*flowcontrolv1.FlowSchema))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*flowcontrolv1.FlowSchema))
			},
		},
		StatusHooks: registry.StatusHooks{
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return validateStatus(&obj.(*flowcontrolv1.FlowSchema).Status, field.NewPath("status"))
			},
			// Upstream's status strategy keeps all stored metadata.
			Meta: registry.StatusMetaAllStored,
		},
		Table: table(),
	}
}

// Default sets upstream's defaults: matchingPrecedence 1000.
func Default(fs *flowcontrolv1.FlowSchema) {
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = DefaultMatchingPrecedence
	}
}

// DefaultMatchingPrecedence is what a schema without one gets.
const DefaultMatchingPrecedence int32 = 1000
