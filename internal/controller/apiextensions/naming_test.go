package apiextensions

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

func TestNamesAndConditions(t *testing.T) {
	requested := apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ListKind: "CronTabList", ShortNames: []string{"ct"}}
	cases := []struct {
		name                  string
		resources, kinds      []string
		accepted              apiextensionsv1.CustomResourceDefinitionNames
		wantStatus            apiextensionsv1.ConditionStatus
		wantReason, wantMsg   string
		wantPlural, wantKind  string
		wantEstablishedReason string
		establishedBefore     bool
	}{
		{name: "no conflicts", wantStatus: "True", wantReason: "NoConflicts", wantMsg: "no conflicts found", wantPlural: "crontabs", wantKind: "CronTab", wantEstablishedReason: "Installing"},
		{name: "singular taken", resources: []string{"crontab"}, wantStatus: "False", wantReason: "SingularConflict", wantMsg: `"crontab" is already in use`, wantPlural: "crontabs", wantKind: "CronTab", wantEstablishedReason: "NotAccepted"},
		{name: "short name taken", resources: []string{"ct"}, wantStatus: "False", wantReason: "ShortNamesConflict", wantMsg: `"ct" is already in use`, wantPlural: "crontabs", wantKind: "CronTab", wantEstablishedReason: "NotAccepted"},
		{name: "kind taken: the list kind's conflict is reported last", kinds: []string{"CronTab", "CronTabList"}, wantStatus: "False", wantReason: "ListKindConflict", wantMsg: `"CronTabList" is already in use`, wantPlural: "crontabs", wantEstablishedReason: "NotAccepted"},
		{name: "a name accepted before stays", kinds: []string{"CronTab"}, accepted: apiextensionsv1.CustomResourceDefinitionNames{Kind: "CronTab"}, wantStatus: "True", wantReason: "NoConflicts", wantMsg: "no conflicts found", wantPlural: "crontabs", wantKind: "CronTab", wantEstablishedReason: "Installing"},
		{name: "established stays established", establishedBefore: true, wantStatus: "True", wantReason: "NoConflicts", wantMsg: "no conflicts found", wantPlural: "crontabs", wantKind: "CronTab", wantEstablishedReason: "InitialNamesAccepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			crd.Spec.Names = requested
			crd.Status.AcceptedNames = tc.accepted
			if tc.establishedBefore {
				crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: "True", Reason: "InitialNamesAccepted"}}
			}
			names, accepted, established := namesAndConditions(crd, sets.New(tc.resources...), sets.New(tc.kinds...))
			if accepted.Status != tc.wantStatus || accepted.Reason != tc.wantReason || accepted.Message != tc.wantMsg {
				t.Errorf("NamesAccepted %s/%s %q, want %s/%s %q", accepted.Status, accepted.Reason, accepted.Message, tc.wantStatus, tc.wantReason, tc.wantMsg)
			}
			if names.Plural != tc.wantPlural || names.Kind != tc.wantKind {
				t.Errorf("accepted names %+v", names)
			}
			if established.Reason != tc.wantEstablishedReason {
				t.Errorf("Established reason %q, want %q", established.Reason, tc.wantEstablishedReason)
			}
		})
	}
}

// TestSettledMatchesTheDecision checks that a CRD the sync skips without
// looking at its group is one the full decision would leave unchanged.
func TestSettledMatchesTheDecision(t *testing.T) {
	names := apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ListKind: "CronTabList", ShortNames: []string{"ct"}}
	now := metav1.Now()
	accepted := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: "True", Reason: "NoConflicts", Message: "no conflicts found", LastTransitionTime: now}
	established := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: "True", Reason: "InitialNamesAccepted", Message: "the initial names have been accepted", LastTransitionTime: now}
	renamed := names
	renamed.Plural = "crontabz"
	cases := []struct {
		name        string
		accepted    apiextensionsv1.CustomResourceDefinitionNames
		conditions  []apiextensionsv1.CustomResourceDefinitionCondition
		wantSettled bool
	}{
		{name: "accepted and established", accepted: names, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{accepted, established}, wantSettled: true},
		{name: "not yet established", accepted: names, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{accepted}},
		{name: "new", conditions: nil},
		{name: "spec renamed", accepted: renamed, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{accepted, established}},
		{name: "conflict reported before", accepted: names, conditions: []apiextensionsv1.CustomResourceDefinitionCondition{
			{Type: apiextensionsv1.NamesAccepted, Status: "False", Reason: "PluralConflict", Message: `"crontabs" is already in use`, LastTransitionTime: now}, established}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			crd.Spec.Names = names
			crd.Status.AcceptedNames = tc.accepted
			crd.Status.Conditions = tc.conditions
			if got := settled(crd); got != tc.wantSettled {
				t.Fatalf("settled %v, want %v", got, tc.wantSettled)
			}
			if !tc.wantSettled {
				return
			}
			// Whatever the group holds, the decision changes nothing.
			n, a, e := namesAndConditions(crd, sets.New("crontabs", "ct"), sets.New("CronTab"))
			if !reflect.DeepEqual(n, crd.Status.AcceptedNames) || a.Status != accepted.Status || a.Reason != accepted.Reason || e.Status != established.Status || e.Reason != established.Reason {
				t.Errorf("decision for a settled CRD: %+v %+v %+v", n, a, e)
			}
		})
	}
}

func TestReleasesNames(t *testing.T) {
	names := apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ListKind: "CronTabList", ShortNames: []string{"ct"}}
	withShort := func(short ...string) apiextensionsv1.CustomResourceDefinitionNames {
		n := names
		n.ShortNames = short
		return n
	}
	renamed := names
	renamed.Plural = "crontabz"
	cases := []struct {
		name          string
		before, after apiextensionsv1.CustomResourceDefinitionNames
		want          bool
	}{
		{name: "first accepted", after: names},
		{name: "unchanged", before: names, after: names},
		{name: "a short name added", before: names, after: withShort("ct", "cts")},
		{name: "a short name dropped", before: names, after: withShort(), want: true},
		{name: "plural renamed", before: names, after: renamed, want: true},
	}
	for _, tc := range cases {
		if got := releasesNames(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: releasesNames %v, want %v", tc.name, got, tc.want)
		}
	}
}
