package namespace

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestConditions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := newReport()
	r.remaining[schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}] = 2
	r.remaining[schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}] = 1
	r.finalizers["example.com/hold"] = 2
	r.deleteErrs = []error{errors.New("b failed"), errors.New("a failed")}
	var status corev1.NamespaceStatus
	if !updateConditions(&status, r.conditions(now), now) {
		t.Fatal("no change")
	}
	want := map[corev1.NamespaceConditionType][3]string{
		corev1.NamespaceDeletionDiscoveryFailure: {"False", "ResourcesDiscovered", "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {"False", "ParsedGroupVersions", "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure:   {"True", "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a failed, b failed"},
		corev1.NamespaceContentRemaining:         {"True", "SomeResourcesRemain", "Some resources are remaining: configmaps. has 2 resource instances, deployments.apps has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {"True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances"},
	}
	if len(status.Conditions) != len(want) {
		t.Fatalf("%d conditions", len(status.Conditions))
	}
	for _, c := range status.Conditions {
		w := want[c.Type]
		if string(c.Status) != w[0] || c.Reason != w[1] || c.Message != w[2] {
			t.Errorf("%s: %s %s %q", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	// Everything removed: all False, transition times move only for
	// those that changed.
	later := now.Add(time.Minute)
	if !updateConditions(&status, newReport().conditions(later), later) {
		t.Fatal("no change")
	}
	for _, c := range status.Conditions {
		if c.Status != corev1.ConditionFalse || c.Message != okMessages[c.Type] {
			t.Errorf("%s: %s %q", c.Type, c.Status, c.Message)
		}
		moved := c.LastTransitionTime.Time.Equal(later)
		if wasTrue := want[c.Type][0] == "True"; moved != wasTrue {
			t.Errorf("%s: transition time %v", c.Type, c.LastTransitionTime)
		}
	}
	if updateConditions(&status, newReport().conditions(later), later) {
		t.Fatal("change reported for the same conditions")
	}
}
