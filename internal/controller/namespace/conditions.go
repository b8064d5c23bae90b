package namespace

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the deletion conditions, in upstream's order.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okReasons and okMessages are the conditions' False forms.
var (
	okReasons = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "ResourcesDiscovered",
		corev1.NamespaceDeletionGVParsingFailure: "ParsedGroupVersions",
		corev1.NamespaceDeletionContentFailure:   "ContentDeleted",
		corev1.NamespaceContentRemaining:         "ContentRemoved",
		corev1.NamespaceFinalizersRemaining:      "ContentHasNoFinalizers",
	}
	okMessages = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "All resources successfully discovered",
		corev1.NamespaceDeletionGVParsingFailure: "All legacy kube types successfully parsed",
		corev1.NamespaceDeletionContentFailure:   "All content successfully deleted, may be waiting on finalization",
		corev1.NamespaceContentRemaining:         "All content successfully removed",
		corev1.NamespaceFinalizersRemaining:      "All content-preserving finalizers finished",
	}
)

// report collects what one pass over a namespace found.
type report struct {
	discoveryErr error
	parseErr     error
	deleteErrs   []error
	remaining    map[schema.GroupVersionResource]int
	finalizers   map[string]int
}

func newReport() *report {
	return &report{remaining: map[schema.GroupVersionResource]int{}, finalizers: map[string]int{}}
}

// conditions are the True conditions the report calls for.
func (r *report) conditions(now time.Time) []corev1.NamespaceCondition {
	ts := metav1.NewTime(now)
	var out []corev1.NamespaceCondition
	if r.discoveryErr != nil {
		msg := r.discoveryErr.Error()
		if derr, ok := r.discoveryErr.(*discovery.ErrGroupDiscoveryFailed); ok {
			msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(derr.Groups), r.discoveryErr)
		}
		out = append(out, corev1.NamespaceCondition{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "DiscoveryFailed", Message: msg})
	}
	if r.parseErr != nil {
		out = append(out, corev1.NamespaceCondition{Type: corev1.NamespaceDeletionGVParsingFailure, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "GroupVersionParsingFailed", Message: r.parseErr.Error()})
	}
	if len(r.deleteErrs) > 0 {
		msgs := make([]string, len(r.deleteErrs))
		for i, e := range r.deleteErrs {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		out = append(out, corev1.NamespaceCondition{Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "ContentDeletionFailed",
			Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(r.deleteErrs), strings.Join(msgs, ", "))})
	}
	var left []string
	for gvr, n := range r.remaining {
		if n > 0 {
			left = append(left, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		out = append(out, corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "SomeResourcesRemain",
			Message: "Some resources are remaining: " + strings.Join(left, ", ")})
	}
	var fins []string
	for f, n := range r.finalizers {
		if n > 0 {
			fins = append(fins, fmt.Sprintf("%s in %d resource instances", f, n))
		}
	}
	if len(fins) > 0 {
		sort.Strings(fins)
		out = append(out, corev1.NamespaceCondition{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, LastTransitionTime: ts, Reason: "SomeFinalizersRemain",
			Message: "Some content in the namespace has finalizers remaining: " + strings.Join(fins, ", ")})
	}
	return out
}

// updateConditions sets every deletion condition on status: the True
// ones given, the others False with their all-clear message. The
// transition time changes only with the status. It reports a change.
func updateConditions(status *corev1.NamespaceStatus, conds []corev1.NamespaceCondition, now time.Time) bool {
	changed := false
	for _, t := range conditionTypes {
		c := find(conds, t)
		if c == nil {
			c = &corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(now), Reason: okReasons[t], Message: okMessages[t]}
		}
		old := find(status.Conditions, t)
		switch {
		case old == nil:
			status.Conditions = append(status.Conditions, *c)
			changed = true
		case old.Status != c.Status || old.Reason != c.Reason || old.Message != c.Message:
			if old.Status != c.Status {
				old.LastTransitionTime = metav1.NewTime(now)
			}
			old.Status, old.Reason, old.Message = c.Status, c.Reason, c.Message
			changed = true
		}
	}
	return changed
}

func find(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}
