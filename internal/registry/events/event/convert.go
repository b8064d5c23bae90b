package event

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ToStorage converts an events.k8s.io event to the core/v1 event that is
// stored: regarding becomes involvedObject, note message, and the
// deprecated* fields the core event's source, firstTimestamp,
// lastTimestamp and count. The rest carries over as is.
func ToStorage(ev *eventsv1.Event) *corev1.Event {
	ev = ev.DeepCopy()
	out := &corev1.Event{
		TypeMeta:            runtimeTypeMeta("v1"),
		ObjectMeta:          ev.ObjectMeta,
		InvolvedObject:      ev.Regarding,
		Reason:              ev.Reason,
		Message:             ev.Note,
		Source:              ev.DeprecatedSource,
		FirstTimestamp:      ev.DeprecatedFirstTimestamp,
		LastTimestamp:       ev.DeprecatedLastTimestamp,
		Count:               ev.DeprecatedCount,
		Type:                ev.Type,
		EventTime:           ev.EventTime,
		Action:              ev.Action,
		Related:             ev.Related,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		out.Series = &corev1.EventSeries{Count: ev.Series.Count, LastObservedTime: ev.Series.LastObservedTime}
	}
	return out
}

// FromStorage converts a stored core/v1 event to its events.k8s.io form,
// the inverse of ToStorage.
func FromStorage(ev *corev1.Event) *eventsv1.Event {
	ev = ev.DeepCopy()
	out := &eventsv1.Event{
		TypeMeta:                 runtimeTypeMeta(eventsv1.SchemeGroupVersion.String()),
		ObjectMeta:               ev.ObjectMeta,
		EventTime:                ev.EventTime,
		ReportingController:      ev.ReportingController,
		ReportingInstance:        ev.ReportingInstance,
		Action:                   ev.Action,
		Reason:                   ev.Reason,
		Regarding:                ev.InvolvedObject,
		Related:                  ev.Related,
		Note:                     ev.Message,
		Type:                     ev.Type,
		DeprecatedSource:         ev.Source,
		DeprecatedFirstTimestamp: ev.FirstTimestamp,
		DeprecatedLastTimestamp:  ev.LastTimestamp,
		DeprecatedCount:          ev.Count,
	}
	if ev.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: ev.Series.Count, LastObservedTime: ev.Series.LastObservedTime}
	}
	return out
}

// FromStorageObject is FromStorage for the registry's Convert hook.
func FromStorageObject(obj runtime.Object) (runtime.Object, error) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil, fmt.Errorf("stored object is a %T, not a core/v1 Event", obj)
	}
	return FromStorage(ev), nil
}

func runtimeTypeMeta(apiVersion string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: "Event"}
}
