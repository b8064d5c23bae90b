package apf

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDangling(t *testing.T) {
	now := metav1.Now()
	fs := newSchema("s", "lvl", 100)
	want, changed := Dangling(fs, false, now)
	if !changed || want.Status != flowcontrolv1.ConditionTrue || want.Reason != "NotFound" || !want.LastTransitionTime.Equal(&now) {
		t.Fatalf("missing level: %+v changed=%v", want, changed)
	}
	SetCondition(fs, want)
	if _, changed := Dangling(fs, false, metav1.Now()); changed {
		t.Error("an unchanged condition is written again")
	}
	found, changed := Dangling(fs, true, now)
	if !changed || found.Status != flowcontrolv1.ConditionFalse || found.Reason != "Found" ||
		found.Message != `This FlowSchema references the PriorityLevelConfiguration object named "lvl" and it exists` {
		t.Fatalf("level found: %+v", found)
	}
	SetCondition(fs, found)
	if len(fs.Status.Conditions) != 1 {
		t.Errorf("conditions %+v", fs.Status.Conditions)
	}
}

func TestNominalLimits(t *testing.T) {
	limited := func(name string, shares int32) *flowcontrolv1.PriorityLevelConfiguration {
		pl := level(name)
		pl.Spec = flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To(shares)}}
		return pl
	}
	// catch-all's 5 shares come from memory; exempt has 0.
	got := NominalLimits([]*flowcontrolv1.PriorityLevelConfiguration{limited("a", 10), limited("b", 15)}, 600)
	want := map[string]int{"a": 200, "b": 300, "catch-all": 100, "exempt": 0}
	for name, seats := range want {
		if got[name] != seats {
			t.Errorf("%s: %d seats, want %d (all: %v)", name, got[name], seats, got)
		}
	}
	_, pls := bootstrapped()
	got = NominalLimits(pls, ServerConcurrencyLimit)
	// Upstream's figures for its default configuration (sum 245 shares).
	for name, seats := range map[string]int{"global-default": 49, "workload-low": 245, "catch-all": 13, "exempt": 0} {
		if got[name] != seats {
			t.Errorf("bootstrap %s: %d seats, want %d", name, got[name], seats)
		}
	}
}
