package apf

import (
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
)

// The matching rules are upstream's (k8s.io/apiserver's flowcontrol
// rule matching): a rule matches when one of its subjects is the
// requester and, for a resource request, one of its resource rules
// matches, else one of its non-resource rules.

func matchesRule(rq *Request, rule *flowcontrolv1.PolicyRulesWithSubjects) bool {
	if !matchesASubject(rq, rule.Subjects) {
		return false
	}
	if rq.Resource != "" {
		for i := range rule.ResourceRules {
			if matchesResourceRule(rq, &rule.ResourceRules[i]) {
				return true
			}
		}
		return false
	}
	for i := range rule.NonResourceRules {
		if matchesNonResourceRule(rq, &rule.NonResourceRules[i]) {
			return true
		}
	}
	return false
}

func matchesASubject(rq *Request, subjects []flowcontrolv1.Subject) bool {
	for i := range subjects {
		if matchesSubject(rq, &subjects[i]) {
			return true
		}
	}
	return false
}

func matchesSubject(rq *Request, s *flowcontrolv1.Subject) bool {
	switch s.Kind {
	case flowcontrolv1.SubjectKindUser:
		return s.User != nil && (s.User.Name == flowcontrolv1.NameAll || s.User.Name == rq.User)
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil {
			return false
		}
		if s.Group.Name == flowcontrolv1.NameAll {
			return true
		}
		for _, g := range rq.Groups {
			if g == s.Group.Name {
				return true
			}
		}
	case flowcontrolv1.SubjectKindServiceAccount:
		if s.ServiceAccount == nil {
			return false
		}
		return matchesServiceAccount(s.ServiceAccount.Namespace, s.ServiceAccount.Name, rq.User)
	}
	return false
}

// matchesServiceAccount says whether user is the service account
// system:serviceaccount:<namespace>:<name>, any of the namespace's when
// name is "*".
func matchesServiceAccount(namespace, name, user string) bool {
	rest, ok := strings.CutPrefix(user, "system:serviceaccount:")
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, namespace); !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, ":"); !ok {
		return false
	}
	return name == flowcontrolv1.NameAll || rest == name
}

func matchesResourceRule(rq *Request, r *flowcontrolv1.ResourcePolicyRule) bool {
	if !contains(r.Verbs, rq.Verb, flowcontrolv1.VerbAll) ||
		!matchesResource(r.Resources, rq.Resource, rq.Subresource) ||
		!contains(r.APIGroups, rq.APIGroup, flowcontrolv1.APIGroupAll) {
		return false
	}
	if rq.Namespace == "" {
		return r.ClusterScope
	}
	return contains(r.Namespaces, rq.Namespace, flowcontrolv1.NamespaceEvery)
}

// matchesResource compares "resource" or "resource/subresource" without
// joining them.
func matchesResource(resources []string, resource, subresource string) bool {
	for _, r := range resources {
		if r == flowcontrolv1.ResourceAll {
			return true
		}
		if subresource == "" {
			if r == resource {
				return true
			}
			continue
		}
		if len(r) == len(resource)+1+len(subresource) && strings.HasPrefix(r, resource) && r[len(resource)] == '/' && strings.HasSuffix(r, subresource) {
			return true
		}
	}
	return false
}

func matchesNonResourceRule(rq *Request, r *flowcontrolv1.NonResourcePolicyRule) bool {
	if !contains(r.Verbs, rq.Verb, flowcontrolv1.VerbAll) {
		return false
	}
	for _, u := range r.NonResourceURLs {
		if u == flowcontrolv1.NonResourceAll || u == rq.Path {
			return true
		}
		// "/apis/*" and "/apis" both match everything below /apis/.
		prefix := strings.TrimSuffix(u, "*")
		if strings.HasSuffix(prefix, "/") {
			if strings.HasPrefix(rq.Path, prefix) {
				return true
			}
		} else if len(rq.Path) > len(prefix) && strings.HasPrefix(rq.Path, prefix) && rq.Path[len(prefix)] == '/' {
			return true
		}
	}
	return false
}

// contains says whether list has value or the wildcard.
func contains(list []string, value, wildcard string) bool {
	for _, v := range list {
		if v == value || v == wildcard {
			return true
		}
	}
	return false
}
