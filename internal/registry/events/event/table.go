package event

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints what `kubectl get events` prints for core events: LAST
// SEEN TYPE REASON OBJECT MESSAGE, and with -o wide SUBOBJECT SOURCE
// FIRST SEEN COUNT NAME. Upstream prints both APIs' events with one
// printer, after converting to the core shape; so does this.
func table() *registry.Table {
	doc := corev1.Event{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
			{Name: "Type", Type: "string", Description: doc["type"]},
			{Name: "Reason", Type: "string", Description: doc["reason"]},
			{Name: "Object", Type: "string", Description: doc["involvedObject"]},
			{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
			{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
			{Name: "Message", Type: "string", Description: doc["message"]},
			{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
			{Name: "Count", Type: "string", Priority: 1, Description: doc["count"]},
			{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: printers.NameColumn.Description},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			return Row(ToStorage(obj.(*eventsv1.Event))), nil
		},
	}
}

// Row returns the cells of a core event. Singleton events of the new API
// have no count and no timestamps but eventTime: they print count 1 and
// eventTime; a series prints its own count and last observation.
func Row(e *corev1.Event) []interface{} {
	first := printers.Age(e.FirstTimestamp)
	if e.FirstTimestamp.IsZero() {
		first = printers.Age(metav1.NewTime(e.EventTime.Time))
	}
	last := printers.Age(e.LastTimestamp)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = printers.Age(metav1.NewTime(e.Series.LastObservedTime.Time))
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []interface{}{
		last,
		e.Type,
		e.Reason,
		target,
		e.InvolvedObject.FieldPath,
		source(e),
		strings.TrimSpace(e.Message),
		first,
		int64(count),
		e.Name,
	}
}

// source is "component, host", falling back to the reporting controller
// and instance of new-style events.
func source(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
