package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// matcher is a compiled MatchResources: its selectors parsed once.
type matcher struct {
	m          *admissionregistrationv1.MatchResources
	namespaces labels.Selector // nil matches everything
	objects    labels.Selector // nil matches everything
	err        error           // a selector that does not parse
}

func newMatcher(m *admissionregistrationv1.MatchResources) *matcher {
	mt := &matcher{m: m}
	if m == nil {
		return mt
	}
	var err error
	if mt.namespaces, err = selector(m.NamespaceSelector); err != nil {
		mt.err = fmt.Errorf("namespaceSelector: %w", err)
	}
	if mt.objects, err = selector(m.ObjectSelector); err != nil {
		mt.err = fmt.Errorf("objectSelector: %w", err)
	}
	return mt
}

// namespaceLabels returns the labels of a namespace, for namespaceSelector.
type namespaceLabels func(ctx context.Context, name string) (labels.Set, error)

// matches reports whether r is in m's scope: its selectors, then its
// exclusions, then its rules (no rules match everything, as a binding's
// matchResources without rules means "what the policy matches").
func (mt *matcher) matches(ctx context.Context, r *request, nsLabels namespaceLabels) (bool, error) {
	m := mt.m
	if m == nil {
		return true, nil
	}
	if mt.err != nil {
		return false, mt.err
	}
	if ok, err := mt.matchesNamespace(ctx, r, nsLabels); !ok || err != nil {
		return false, err
	}
	if mt.objects != nil && !mt.objects.Matches(r.labels) && !mt.objects.Matches(r.oldLabels) {
		return false, nil
	}
	if matchesRules(m.ExcludeResourceRules, r) {
		return false, nil
	}
	return len(m.ResourceRules) == 0 || matchesRules(m.ResourceRules, r), nil
}

// matchesNamespace applies namespaceSelector: a namespace by its own
// labels, namespaced objects by their namespace's, and other
// cluster-scoped objects always.
func (mt *matcher) matchesNamespace(ctx context.Context, r *request, nsLabels namespaceLabels) (bool, error) {
	if mt.namespaces == nil {
		return true, nil
	}
	switch {
	case r.isNamespace():
		set := r.labels
		if set == nil {
			set = r.oldLabels
		}
		return mt.namespaces.Matches(set), nil
	case r.Namespace == "":
		return true, nil
	}
	set, err := nsLabels(ctx, r.Namespace)
	if err != nil {
		return false, fmt.Errorf("namespace %s: %w", r.Namespace, err)
	}
	return mt.namespaces.Matches(set), nil
}

// matchesRules reports whether any rule matches r. Every resource is
// served in one version here, so Exact and Equivalent match alike.
func matchesRules(rules []admissionregistrationv1.NamedRuleWithOperations, r *request) bool {
	for i := range rules {
		if matchesRule(&rules[i], r) {
			return true
		}
	}
	return false
}

func matchesRule(rule *admissionregistrationv1.NamedRuleWithOperations, r *request) bool {
	if !matchesOperation(rule.Operations, r.Operation) ||
		!wildcardHas(rule.APIGroups, r.gvr.Group) ||
		!wildcardHas(rule.APIVersions, r.gvr.Version) ||
		!matchesResource(rule.Resources, r.gvr.Resource, r.Subresource) ||
		!matchesScope(rule.Scope, r) {
		return false
	}
	return len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, r.Name)
}

func matchesOperation(ops []admissionregistrationv1.OperationType, op string) bool {
	for _, o := range ops {
		if o == admissionregistrationv1.OperationAll || string(o) == op {
			return true
		}
	}
	return false
}

func wildcardHas(list []string, s string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, s)
}

// matchesResource matches "resource", "resource/sub", "*", "*/*",
// "resource/*" and "*/sub" against a request's resource and subresource,
// as upstream: a "/*" matches the resource itself too.
func matchesResource(resources []string, resource, sub string) bool {
	for _, rs := range resources {
		res, rsub, _ := strings.Cut(rs, "/")
		if (res == "*" || res == resource) && (rsub == "*" || rsub == sub) {
			return true
		}
	}
	return false
}

func matchesScope(scope *admissionregistrationv1.ScopeType, r *request) bool {
	if scope == nil || *scope == admissionregistrationv1.AllScopes {
		return true
	}
	namespaced := r.Namespace != "" && !(r.gvr.Group == "" && r.gvr.Resource == "namespaces")
	if *scope == admissionregistrationv1.NamespacedScope {
		return namespaced
	}
	return !namespaced
}

// selector parses a label selector; an empty one (or nil) is nil, which
// matches everything without looking at labels.
func selector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(s)
}
