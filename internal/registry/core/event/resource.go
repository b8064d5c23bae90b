// Package event serves core/v1 events, the records `kubectl get events`
// and `kubectl describe` show. events.k8s.io/v1 events are another view
// of the same storage (registry/events/event).
package event

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the events resource.
//
// Beyond these hooks, upstream stores every event with a time to live
// (the API server's --event-ttl, one hour by default) and does not
// garbage-collect events through owner references.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Version: "v1"},
		Resource:     "events",
		Kind:         "Event",
		TTL:          time.Hour,
		SingularName: "event",
		ShortNames:   []string{"ev"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.Event{} },
		NewList:      func() runtime.Object { return &corev1.EventList{} },
		// Event names are checked only as path segments, as upstream's
		// generic check does (core/v1 skips the DNS-subdomain rule).
		NameValidation: path.ValidatePathSegmentName,
		// Recorders PUT events that may not exist yet.
		AllowCreateOnUpdate: true,
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Event))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				// core/v1 updates get the create checks only; the
				// immutability rules belong to events.k8s.io.
				return Validate(obj.(*corev1.Event))
			},
		},
		Table:            table(),
		SelectableFields: func(obj runtime.Object) fields.Set { return SelectableFields(obj.(*corev1.Event)) },
	}
}

// SelectableFields are the fields `kubectl get events --field-selector`
// may use: the involved object's, reason, type, and the reporting
// component ("source" is source.component, or reportingController when
// that is empty).
func SelectableFields(ev *corev1.Event) fields.Set {
	source := ev.Source.Component
	if source == "" {
		source = ev.ReportingController
	}
	o := ev.InvolvedObject
	return fields.Set{
		"involvedObject.kind":            o.Kind,
		"involvedObject.namespace":       o.Namespace,
		"involvedObject.name":            o.Name,
		"involvedObject.uid":             string(o.UID),
		"involvedObject.apiVersion":      o.APIVersion,
		"involvedObject.resourceVersion": o.ResourceVersion,
		"involvedObject.fieldPath":       o.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         source,
		"type":                           ev.Type,
	}
}
