package event

import (
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits, as upstream.
const (
	maxReportingInstance = 128
	maxAction            = 128
	maxReason            = 128
	maxNote              = 1024
)

// Upstream validates an events.k8s.io event after converting it to the
// core shape, so its errors name the core fields: a note that is too long
// is reported at "message", the regarding object at "involvedObject", the
// deprecated fields at "source", "firstTimestamp", "lastTimestamp" and
// "count". These functions do the same.

// Validate checks an event created through events.k8s.io/v1: the new
// API's fields are required (eventTime, reportingController,
// reportingInstance, action, reason), type is Normal or Warning, and the
// deprecated fields stay unset.
func Validate(ev *eventsv1.Event) field.ErrorList {
	e := ToStorage(ev)
	errs := validateCommon(e)
	errs = append(errs, validateSeries(e)...)
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if !e.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !e.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if e.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if e.Source.Component != "" || e.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// ValidateUpdate checks an update through events.k8s.io/v1: only the
// series (and metadata) may change.
func ValidateUpdate(ev, old *eventsv1.Event) field.ErrorList {
	e, o := ToStorage(ev), ToStorage(old)
	errs := validateCommon(e)
	if !reflect.DeepEqual(e.Series, o.Series) {
		errs = append(errs, validateSeries(e)...)
	}
	immutable := func(newVal, oldVal interface{}, name string) {
		errs = append(errs, apivalidation.ValidateImmutableField(newVal, oldVal, field.NewPath(name))...)
	}
	immutable(e.InvolvedObject, o.InvolvedObject, "involvedObject")
	immutable(e.Reason, o.Reason, "reason")
	immutable(e.Message, o.Message, "message")
	immutable(e.Source, o.Source, "source")
	immutable(e.FirstTimestamp, o.FirstTimestamp, "firstTimestamp")
	immutable(e.LastTimestamp, o.LastTimestamp, "lastTimestamp")
	immutable(e.Count, o.Count, "count")
	// Upstream checks reason a second time here, so a changed reason is
	// reported twice; kept for identical output.
	immutable(e.Reason, o.Reason, "reason")
	immutable(e.Type, o.Type, "type")
	// Changes below a microsecond are tolerated: clients that serialize
	// with microsecond precision round the stored time.
	if !e.EventTime.Truncate(time.Microsecond).UTC().Equal(o.EventTime.Truncate(time.Microsecond).UTC()) {
		immutable(e.EventTime, o.EventTime, "eventTime")
	}
	immutable(e.Action, o.Action, "action")
	immutable(e.Related, o.Related, "related")
	immutable(e.ReportingController, o.ReportingController, "reportingController")
	immutable(e.ReportingInstance, o.ReportingInstance, "reportingInstance")
	return errs
}

// validateCommon is what every event must satisfy, whatever API wrote
// it. Old-style events (no eventTime) only need their namespace to agree
// with the involved object's; new-style ones need the reporting fields.
func validateCommon(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		return errs
	}
	if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
	}
	rcPath := field.NewPath("reportingController")
	if e.ReportingController == "" {
		errs = append(errs, field.Required(rcPath, ""))
	}
	for _, msg := range validation.IsQualifiedName(e.ReportingController) {
		errs = append(errs, field.Invalid(rcPath, e.ReportingController, msg))
	}
	errs = append(errs, requiredWithLimit(e.ReportingInstance, "reportingInstance", maxReportingInstance)...)
	errs = append(errs, requiredWithLimit(e.Action, "action", maxAction)...)
	errs = append(errs, requiredWithLimit(e.Reason, "reason", maxReason)...)
	if len(e.Message) > maxNote {
		errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", maxNote)))
	}
	return errs
}

func requiredWithLimit(value, name string, limit int) field.ErrorList {
	var errs field.ErrorList
	if value == "" {
		errs = append(errs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > limit {
		errs = append(errs, field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return errs
}

// validateSeries: a series has been seen at least twice, and says when
// last.
func validateSeries(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.Series == nil {
		return nil
	}
	if e.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
	}
	if e.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
	}
	return errs
}
