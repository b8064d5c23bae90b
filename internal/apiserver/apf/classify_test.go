package apf

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
)

// bootstrapped is upstream's whole bootstrap configuration, each object
// with a UID that names it.
func bootstrapped() ([]*flowcontrolv1.FlowSchema, []*flowcontrolv1.PriorityLevelConfiguration) {
	var fss []*flowcontrolv1.FlowSchema
	for _, fs := range flowcontrol.BootstrapFlowSchemas() {
		fs.UID = types.UID("fs-" + fs.Name)
		fss = append(fss, &fs)
	}
	var pls []*flowcontrolv1.PriorityLevelConfiguration
	for _, pl := range flowcontrol.BootstrapPriorityLevels() {
		pl.UID = types.UID("pl-" + pl.Name)
		pls = append(pls, &pl)
	}
	return fss, pls
}

func newSchema(name, level string, precedence int32, rules ...flowcontrolv1.PolicyRulesWithSubjects) *flowcontrolv1.FlowSchema {
	return &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("fs-" + name)},
		Spec: flowcontrolv1.FlowSchemaSpec{
			MatchingPrecedence:         precedence,
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: level},
			Rules:                      rules,
		},
	}
}

func level(name string) *flowcontrolv1.PriorityLevelConfiguration {
	return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("pl-" + name)}}
}

func users(names ...string) []flowcontrolv1.Subject {
	var out []flowcontrolv1.Subject
	for _, n := range names {
		out = append(out, flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: n}})
	}
	return out
}

func allPaths() []flowcontrolv1.NonResourcePolicyRule {
	return []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
}

func TestClassifyBootstrap(t *testing.T) {
	fss, pls := bootstrapped()
	c := New(fss, pls)
	authn := []string{"system:authenticated"}
	tests := []struct {
		name   string
		rq     Request
		schema string // "": no schema matches
		level  string
	}{
		{"admin is exempt", Request{User: "system:admin", Groups: []string{"system:masters", "system:authenticated"}, Verb: "create", Resource: "pods", Namespace: "default"}, "exempt", "exempt"},
		{"health probe by anyone", Request{User: "system:anonymous", Groups: []string{"system:unauthenticated"}, Verb: "get", Path: "/readyz"}, "probes", "exempt"},
		{"health subpath", Request{User: "u", Groups: authn, Verb: "get", Path: "/healthz/etcd"}, "probes", "exempt"},
		{"a node's lease", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease"}, "system-node-high", "node-high"},
		{"a node's pods", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, Verb: "list", Resource: "pods"}, "system-nodes", "system"},
		{"node status subresource", Request{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, Verb: "patch", Resource: "nodes", Subresource: "status"}, "system-node-high", "node-high"},
		{"scheduler's leader election", Request{User: "system:kube-scheduler", Groups: authn, Verb: "get", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"}, "system-leader-election", "leader-election"},
		{"scheduler's work", Request{User: "system:kube-scheduler", Groups: authn, Verb: "create", Resource: "pods", Subresource: "binding", Namespace: "default"}, "kube-scheduler", "workload-high"},
		{"controller manager", Request{User: "system:kube-controller-manager", Groups: authn, Verb: "list", APIGroup: "apps", Resource: "deployments"}, "kube-controller-manager", "workload-high"},
		{"kube-system service account", Request{User: "system:serviceaccount:kube-system:coredns", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}, Verb: "watch", Resource: "services"}, "kube-system-service-accounts", "workload-high"},
		{"other service account", Request{User: "system:serviceaccount:team:app", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"}, Verb: "get", Resource: "configmaps", Namespace: "team"}, "service-accounts", "workload-low"},
		{"a user", Request{User: "alice", Groups: authn, Verb: "get", Resource: "configmaps", Namespace: "team"}, "global-default", "global-default"},
		{"a user's non-resource request", Request{User: "alice", Groups: authn, Verb: "get", Path: "/version"}, "global-default", "global-default"},
		{"anonymous", Request{User: "system:anonymous", Groups: []string{"system:unauthenticated"}, Verb: "get", Path: "/api"}, "global-default", "global-default"},
		{"no group the catch-alls name", Request{User: "x", Verb: "get", Path: "/api"}, "", ""},
	}
	for _, tt := range tests {
		m := c.Classify(&tt.rq)
		if m == nil {
			if tt.schema != "" {
				t.Errorf("%s: no match", tt.name)
			}
			continue
		}
		if m.FlowSchema != tt.schema || m.PriorityLevel != tt.level {
			t.Errorf("%s: %s/%s, want %s/%s", tt.name, m.FlowSchema, m.PriorityLevel, tt.schema, tt.level)
		}
		if m.FlowSchemaHeader[0] != "fs-"+tt.schema || m.PriorityLevelHeader[0] != "pl-"+tt.level {
			t.Errorf("%s: headers %v %v", tt.name, m.FlowSchemaHeader, m.PriorityLevelHeader)
		}
	}
}

func TestClassifyRules(t *testing.T) {
	noxu := flowcontrolv1.PolicyRulesWithSubjects{Subjects: users("noxu"), NonResourceRules: allPaths()}
	resources := flowcontrolv1.PolicyRulesWithSubjects{
		Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "readers"}}},
		ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
			Verbs: []string{"get", "list"}, APIGroups: []string{"", "apps"}, Resources: []string{"pods", "deployments/scale"},
			Namespaces: []string{"team"},
		}, {
			Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"nodes"}, ClusterScope: true,
		}},
		NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics", "/logs/*"}}},
	}
	sa := flowcontrolv1.PolicyRulesWithSubjects{
		Subjects: []flowcontrolv1.Subject{
			{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "ci", Name: "*"}},
			{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "prod", Name: "deployer"}},
		},
		NonResourceRules: allPaths(),
	}
	schemas := []*flowcontrolv1.FlowSchema{
		newSchema("b-noxu", "high", 1000, noxu),
		newSchema("a-noxu", "low", 1000, noxu),  // same precedence: by name, so a-noxu wins
		newSchema("early", "missing", 10, noxu), // its level does not exist: skipped
		newSchema("readers", "high", 2000, resources),
		newSchema("ci", "low", 3000, sa),
	}
	c := New(schemas, []*flowcontrolv1.PriorityLevelConfiguration{level("high"), level("low")})
	authn := []string{"system:authenticated"}
	readers := []string{"readers", "system:authenticated"}
	tests := []struct {
		name   string
		rq     Request
		schema string
	}{
		{"precedence ties go by name; a dangling schema is skipped", Request{User: "noxu", Groups: authn, Verb: "get", Path: "/version"}, "a-noxu"},
		{"user rule only covers non-resource requests", Request{User: "noxu", Groups: authn, Verb: "get", Resource: "pods", Namespace: "team"}, "catch-all"},
		{"group, verb, group and namespace match", Request{User: "r", Groups: readers, Verb: "list", Resource: "pods", Namespace: "team"}, "readers"},
		{"other namespace", Request{User: "r", Groups: readers, Verb: "list", Resource: "pods", Namespace: "other"}, "catch-all"},
		{"other verb", Request{User: "r", Groups: readers, Verb: "delete", Resource: "pods", Namespace: "team"}, "catch-all"},
		{"subresource named", Request{User: "r", Groups: readers, Verb: "get", APIGroup: "apps", Resource: "deployments", Subresource: "scale", Namespace: "team"}, "readers"},
		{"resource without its named subresource", Request{User: "r", Groups: readers, Verb: "get", APIGroup: "apps", Resource: "deployments", Namespace: "team"}, "catch-all"},
		{"subresource not named", Request{User: "r", Groups: readers, Verb: "get", Resource: "pods", Subresource: "log", Namespace: "team"}, "catch-all"},
		{"cluster scope", Request{User: "r", Groups: readers, Verb: "delete", APIGroup: "x.io", Resource: "nodes"}, "readers"},
		{"namespaced request, cluster-scope-only rule", Request{User: "r", Groups: readers, Verb: "delete", Resource: "nodes", Namespace: "team"}, "catch-all"},
		{"exact path", Request{User: "r", Groups: readers, Verb: "get", Path: "/metrics"}, "readers"},
		{"no prefix match without /*", Request{User: "r", Groups: readers, Verb: "get", Path: "/metricsx"}, "catch-all"},
		{"prefix", Request{User: "r", Groups: readers, Verb: "get", Path: "/logs/kubelet.log"}, "readers"},
		{"prefix needs the slash", Request{User: "r", Groups: readers, Verb: "get", Path: "/logsx"}, "catch-all"},
		{"post is not get", Request{User: "r", Groups: readers, Verb: "post", Path: "/metrics"}, "catch-all"},
		{"any service account of a namespace", Request{Groups: authn, User: "system:serviceaccount:ci:builder", Verb: "get", Path: "/api"}, "ci"},
		{"namespace prefix is not the namespace", Request{Groups: authn, User: "system:serviceaccount:cix:builder", Verb: "get", Path: "/api"}, "catch-all"},
		{"named service account", Request{Groups: authn, User: "system:serviceaccount:prod:deployer", Verb: "get", Path: "/api"}, "ci"},
		{"other service account", Request{Groups: authn, User: "system:serviceaccount:prod:other", Verb: "get", Path: "/api"}, "catch-all"},
		{"privileged group still exempt", Request{User: "x", Groups: []string{"system:masters", "system:authenticated"}, Verb: "get", Path: "/api"}, "exempt"},
	}
	for _, tt := range tests {
		m := c.Classify(&tt.rq)
		if m == nil || m.FlowSchema != tt.schema {
			t.Errorf("%s: %+v, want %s", tt.name, m, tt.schema)
		}
	}
	// The mandatory schemas the store lacks carry no UID.
	if m := c.Classify(&Request{User: "x", Groups: authn, Verb: "get", Path: "/"}); m.FlowSchemaHeader[0] != "" || m.PriorityLevelHeader[0] != "" {
		t.Errorf("mandatory catch-all from memory: %+v", m)
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	fss, pls := bootstrapped()
	c := New(fss, pls)
	rq := Request{User: "system:serviceaccount:team:app", Groups: []string{"system:serviceaccounts", "system:authenticated"}, Verb: "create", Resource: "pods", Namespace: "team"}
	if n := testing.AllocsPerRun(100, func() { c.Classify(&rq) }); n != 0 {
		t.Errorf("%v allocations a request", n)
	}
}

func BenchmarkClassify(b *testing.B) {
	fss, pls := bootstrapped()
	c := New(fss, pls)
	rq := Request{User: "alice", Groups: []string{"system:authenticated"}, Verb: "create", Resource: "pods", Namespace: "team"}
	for b.Loop() {
		c.Classify(&rq)
	}
}
