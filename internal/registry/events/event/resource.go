// Package event serves events.k8s.io/v1 events, a newer view of the same
// objects as core/v1 events: they share storage (the "events" prefix),
// and this package converts between the two shapes.
package event

import (
	"context"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the events.k8s.io events resource.
//
// As for core events, upstream stores every event with a time to live
// (the API server's --event-ttl, one hour by default); the server must do
// that for the shared storage.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:  eventsv1.SchemeGroupVersion,
		Resource:      "events",
		Kind:          "Event",
		SingularName:  "event",
		ShortNames:    []string{"ev"},
		Namespaced:    true,
		StoragePrefix: "events",
		// A PUT creates a missing event, as upstream.
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &eventsv1.Event{} },
		NewList:             func() runtime.Object { return &eventsv1.EventList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*eventsv1.Event))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*eventsv1.Event), old.(*eventsv1.Event))
			},
		},
		Table:            table(),
		SelectableFields: func(obj runtime.Object) fields.Set { return SelectableFields(obj.(*eventsv1.Event)) },
		Convert: &registry.Convert{
			ToStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) {
				return ToStorage(obj.(*eventsv1.Event)), nil
			},
			FromStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) { return FromStorageObject(obj) },
		},
	}
}

// SelectableFields are the fields an events.k8s.io field selector may
// use, named as this API names them (upstream maps them onto the core
// event's fields; "source" is not among them).
func SelectableFields(ev *eventsv1.Event) fields.Set {
	r := ev.Regarding
	return fields.Set{
		"regarding.kind":            r.Kind,
		"regarding.namespace":       r.Namespace,
		"regarding.name":            r.Name,
		"regarding.uid":             string(r.UID),
		"regarding.apiVersion":      r.APIVersion,
		"regarding.resourceVersion": r.ResourceVersion,
		"regarding.fieldPath":       r.FieldPath,
		"reason":                    ev.Reason,
		"reportingController":       ev.ReportingController,
		"type":                      ev.Type,
	}
}
