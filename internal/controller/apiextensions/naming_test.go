package apiextensions

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
