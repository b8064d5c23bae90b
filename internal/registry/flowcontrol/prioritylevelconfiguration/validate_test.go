package prioritylevelconfiguration

import (
	"strings"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
)

func valid() *flowcontrolv1.PriorityLevelConfiguration {
	pl := &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "reporting"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}},
			},
		},
	}
	Default(pl)
	return pl
}

func TestDefault(t *testing.T) {
	l := valid().Spec.Limited
	if *l.NominalConcurrencyShares != 30 || *l.LendablePercent != 0 || l.BorrowingLimitPercent != nil {
		t.Errorf("limited defaults %+v", l)
	}
	if q := l.LimitResponse.Queuing; q.Queues != 64 || q.HandSize != 8 || q.QueueLengthLimit != 50 {
		t.Errorf("queuing defaults %+v", q)
	}
	pl := &flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
		Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0)},
	}}
	Default(pl)
	if *pl.Spec.Limited.NominalConcurrencyShares != 0 {
		t.Error("an explicit 0 shares was defaulted (v1 keeps it)")
	}
}

func TestValidate(t *testing.T) {
	queuing := func(pl *flowcontrolv1.PriorityLevelConfiguration) *flowcontrolv1.QueuingConfiguration {
		return pl.Spec.Limited.LimitResponse.Queuing
	}
	const q = "spec.limited.limitResponse.queuing"
	tests := []struct {
		name   string
		mod    func(*flowcontrolv1.PriorityLevelConfiguration)
		fields []string
		detail string
	}{
		{"valid", func(*flowcontrolv1.PriorityLevelConfiguration) {}, nil, ""},
		{"exempt type, other name", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Type, pl.Spec.Limited = flowcontrolv1.PriorityLevelEnablementExempt, nil
		}, []string{"spec.type"}, "must be 'Exempt' if and only if `name` is 'exempt'"},
		{"no type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" }, []string{"spec.type"}, "Required value"},
		{"unknown type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Unlimited" }, []string{"spec.type"}, `supported values: "Exempt", "Limited"`},
		{"limited without limited", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited = nil }, []string{"spec.limited"}, "must not be empty when type is Limited"},
		{"limited with exempt", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{}
		}, []string{"spec.exempt"}, "must be nil if the type is Limited"},
		{"negative shares", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](-1)
		}, []string{"spec.limited.nominalConcurrencyShares"}, "must be a non-negative integer"},
		{"lendable over 100", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.LendablePercent = ptr.To[int32](101)
		}, []string{"spec.limited.lendablePercent"}, "must be between 0 and 100, inclusive"},
		{"negative borrowing", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.BorrowingLimitPercent = ptr.To[int32](-1)
		}, []string{"spec.limited.borrowingLimitPercent"}, "if specified, must be a non-negative integer"},
		{"reject with queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
		}, []string{q}, "must be nil if limited.limitResponse.type is not Limited"},
		{"queue without queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Queuing = nil }, []string{q}, "must not be empty"},
		{"no response type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Type = "" }, []string{"spec.limited.limitResponse.type"}, "Required value"},
		{"hand bigger than deck", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues, queuing(pl).HandSize = 4, 5 }, []string{q + ".handSize"}, "should not be greater than queues (4)"},
		{"too much entropy", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			queuing(pl).Queues, queuing(pl).HandSize = 1<<20, 100
		}, []string{q + ".handSize"}, "required entropy bits of deckSize 1048576 and handSize 100 should not be greater than 60"},
		{"too many queues", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).Queues = 10000001 }, []string{q + ".queues", q + ".handSize"}, "must not be greater than 10000000"},
		{"negative queue length", func(pl *flowcontrolv1.PriorityLevelConfiguration) { queuing(pl).QueueLengthLimit = -1 }, []string{q + ".queueLengthLimit"}, "must be positive"},
		{"old annotation", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Annotations = map[string]string{"flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares": ""}
		}, []string{"metadata.annotations"}, "is forbidden"},
		{"mandatory spec changed", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Name = "catch-all" }, []string{"spec"}, "spec of 'catch-all' must equal the fixed value"},
		{"exempt's exempt may change", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Name, pl.Spec = "exempt", *flowcontrol.MandatoryPriorityLevel("exempt").Spec.DeepCopy()
			pl.Spec.Exempt.NominalConcurrencyShares = ptr.To[int32](10)
		}, nil, ""},
	}
	for _, tt := range tests {
		pl := valid()
		tt.mod(pl)
		errs := Validate(pl)
		var got []string
		for _, e := range errs {
			got = append(got, e.Field)
		}
		if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
			t.Errorf("%s: errors on %v, want %v (%v)", tt.name, got, tt.fields, errs)
			continue
		}
		if tt.detail != "" && !strings.Contains(errs[0].Error(), tt.detail) {
			t.Errorf("%s: %q, want it to say %q", tt.name, errs[0].Error(), tt.detail)
		}
	}
	for _, pl := range flowcontrol.BootstrapPriorityLevels() {
		Default(&pl)
		if errs := Validate(&pl); len(errs) != 0 {
			t.Errorf("bootstrap level %s: %v", pl.Name, errs)
		}
	}
}
