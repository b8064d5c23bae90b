package flowschema

import (
	"strings"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
)

// valid is a schema as a user writes it, defaulted as the server does.
func valid() *flowcontrolv1.FlowSchema {
	fs := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "reporting"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "reporting"},
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{
					{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "reporters"}},
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "ci", Name: "*"}},
				},
				ResourceRules:    []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}, Namespaces: []string{"*"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics", "/logs/*"}}},
			}},
		},
	}
	Default(fs)
	return fs
}

func TestDefault(t *testing.T) {
	if fs := valid(); fs.Spec.MatchingPrecedence != 1000 {
		t.Errorf("matchingPrecedence %d", fs.Spec.MatchingPrecedence)
	}
}

func TestValidate(t *testing.T) {
	rule := func(fs *flowcontrolv1.FlowSchema) *flowcontrolv1.PolicyRulesWithSubjects { return &fs.Spec.Rules[0] }
	tests := []struct {
		name   string
		mod    func(*flowcontrolv1.FlowSchema)
		fields []string
		detail string // in the first error
	}{
		{"valid", func(*flowcontrolv1.FlowSchema) {}, nil, ""},
		{"precedence 1", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 }, []string{"spec.matchingPrecedence"}, "only the schema named 'exempt' may have matchingPrecedence 1"},
		{"negative precedence", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = -1 }, []string{"spec.matchingPrecedence"}, "must be a positive value"},
		{"precedence too large", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 }, []string{"spec.matchingPrecedence"}, "must not be greater than 10000"},
		{"distinguisher", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.DistinguisherMethod.Type = "ByPod" }, []string{"spec.distinguisherMethod.type"}, "Unsupported value"},
		{"no level", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" }, []string{"spec.priorityLevelConfiguration.name"}, "must reference a priority level"},
		{"bad level name", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "Bad_Name" }, []string{"spec.priorityLevelConfiguration.name"}, ""},
		{"no subjects", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects = nil }, []string{"spec.rules[0].subjects"}, "subjects must contain at least one value"},
		{"no rules of either kind", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules, rule(fs).NonResourceRules = nil, nil }, []string{"spec.rules[0]"}, "at least one of resourceRules and nonResourceRules has to be non-empty"},
		{"user kind with a group", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects[0].Kind = flowcontrolv1.SubjectKindUser }, []string{"spec.rules[0].subjects[0].user", "spec.rules[0].subjects[0].group"}, "user is required when subject kind is 'User'"},
		{"empty group name", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects[0].Group.Name = "" }, []string{"spec.rules[0].subjects[0].group.name"}, ""},
		{"unknown kind", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects[0].Kind = "Robot" }, []string{"spec.rules[0].subjects[0].kind"}, `supported values: "Group", "ServiceAccount", "User"`},
		{"service account without namespace", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects[1].ServiceAccount.Namespace = "" }, []string{"spec.rules[0].subjects[1].serviceAccount.namespace"}, "must specify namespace for service account"},
		{"wildcard verb with others", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Verbs = []string{"*", "get"} }, []string{"spec.rules[0].resourceRules[0].verbs"}, "if '*' is present, must not specify other verbs"},
		{"unknown verb", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Verbs = []string{"get", "escalate"} }, []string{"spec.rules[0].resourceRules[0].verbs"}, "Unsupported value"},
		{"no api groups", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].APIGroups = nil }, []string{"spec.rules[0].resourceRules[0].apiGroups"}, ""},
		{"no resources", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Resources = nil }, []string{"spec.rules[0].resourceRules[0].resources"}, ""},
		{"no namespaces, not cluster scope", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Namespaces = nil }, []string{"spec.rules[0].resourceRules[0].namespaces"}, "resource rules that are not cluster scoped must supply at least one namespace"},
		{"cluster scope alone", func(fs *flowcontrolv1.FlowSchema) {
			rule(fs).ResourceRules[0].Namespaces, rule(fs).ResourceRules[0].ClusterScope = nil, true
		}, nil, ""},
		{"bad namespace", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Namespaces = []string{"Team"} }, []string{"spec.rules[0].resourceRules[0].namespaces[0]"}, "each member of this list must be '*' or a DNS-1123 label"},
		{"relative path", func(fs *flowcontrolv1.FlowSchema) { rule(fs).NonResourceRules[0].NonResourceURLs = []string{"metrics"} }, []string{"spec.rules[0].nonResourceRules[0].nonResourceURLs[0]"}, "must start with slash"},
		{"inner wildcard", func(fs *flowcontrolv1.FlowSchema) { rule(fs).NonResourceRules[0].NonResourceURLs = []string{"/logs*"} }, []string{"spec.rules[0].nonResourceRules[0].nonResourceURLs[0]"}, "wildcard can only do suffix matching"},
		{"double slash", func(fs *flowcontrolv1.FlowSchema) { rule(fs).NonResourceRules[0].NonResourceURLs = []string{"/a//b"} }, []string{"spec.rules[0].nonResourceRules[0].nonResourceURLs[0]"}, "must not contain double slash"},
		{"duplicate condition", func(fs *flowcontrolv1.FlowSchema) {
			fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}}
		}, []string{"status.conditions[1].type"}, "Duplicate value"},
		{"mandatory spec changed", func(fs *flowcontrolv1.FlowSchema) { fs.Name = "catch-all" }, []string{"spec"}, "spec of 'catch-all' must equal the fixed value"},
	}
	for _, tt := range tests {
		fs := valid()
		tt.mod(fs)
		errs := Validate(fs)
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
	for _, fs := range flowcontrol.BootstrapFlowSchemas() {
		Default(&fs)
		if errs := Validate(&fs); len(errs) != 0 {
			t.Errorf("bootstrap schema %s: %v", fs.Name, errs)
		}
	}
}
