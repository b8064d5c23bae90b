package rbac

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// Authorizer is the RBAC authorizer over an Index.
type Authorizer struct {
	Index *Index
}

// New returns an RBAC authorizer reading x.
func New(x *Index) *Authorizer { return &Authorizer{Index: x} }

// Authorize implements auth.Authorizer: it allows what some binding of the
// user's grants; otherwise it has no opinion (RBAC never denies).
func (z *Authorizer) Authorize(_ context.Context, a auth.Attributes) (auth.Decision, string, error) {
	var errs []string
	allowed := false
	z.visit(a.User, a.Namespace, func(rule *rbacv1.PolicyRule) bool {
		allowed = ruleAllows(&a, rule)
		return !allowed
	}, func(err string) { errs = append(errs, err) })
	if allowed {
		return auth.Allow, "", nil
	}
	if len(errs) > 0 {
		return auth.NoOpinion, "RBAC: " + strings.Join(errs, ", "), nil
	}
	return auth.NoOpinion, "", nil
}

// visit calls rule for each rule bound to u at cluster scope and, when
// namespace is set, in namespace, until rule returns false. missing is
// told of bindings whose role does not exist.
func (z *Authorizer) visit(u *auth.User, namespace string, rule func(*rbacv1.PolicyRule) bool, missing func(string)) {
	if u == nil {
		return
	}
	for _, b := range z.Index.ClusterRoleBindings() {
		if !appliesToAny(u, b.Subjects, "") {
			continue
		}
		rules, err := z.roleRules(b.RoleRef, "")
		if err != nil {
			missing(err.Error())
			continue
		}
		for i := range rules {
			if !rule(&rules[i]) {
				return
			}
		}
	}
	if namespace == "" {
		return
	}
	for _, b := range z.Index.RoleBindings(namespace) {
		if !appliesToAny(u, b.Subjects, namespace) {
			continue
		}
		rules, err := z.roleRules(b.RoleRef, namespace)
		if err != nil {
			missing(err.Error())
			continue
		}
		for i := range rules {
			if !rule(&rules[i]) {
				return
			}
		}
	}
}

// roleRules returns the rules of the role ref names (a Role only in
// namespace).
func (z *Authorizer) roleRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "ClusterRole":
		r, ok := z.Index.ClusterRole(ref.Name)
		if !ok {
			return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", ref.Name)
		}
		return r.Rules, nil
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("role %q is not in a namespace", ref.Name)
		}
		r, ok := z.Index.Role(namespace, ref.Name)
		if !ok {
			return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", ref.Name)
		}
		return r.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// Rules returns every rule bound to u at cluster scope and in namespace;
// incomplete is true when some binding names a role that does not exist.
func (z *Authorizer) Rules(u *auth.User, namespace string) (rules []rbacv1.PolicyRule, incomplete bool) {
	z.visit(u, namespace, func(r *rbacv1.PolicyRule) bool {
		rules = append(rules, *r)
		return true
	}, func(string) { incomplete = true })
	return rules, incomplete
}

// RulesFor implements auth.RuleResolver.
func (z *Authorizer) RulesFor(_ context.Context, u *auth.User, namespace string) ([]auth.ResourceRule, []auth.NonResourceRule, bool, error) {
	rules, incomplete := z.Rules(u, namespace)
	var res []auth.ResourceRule
	var non []auth.NonResourceRule
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			non = append(non, auth.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
			continue
		}
		res = append(res, auth.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	return res, non, incomplete, nil
}

// RulesAllow reports whether one of rules allows a.
func RulesAllow(rules []rbacv1.PolicyRule, a *auth.Attributes) bool {
	for i := range rules {
		if ruleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

// RoleRules returns the rules of the role ref names, a Role being looked
// up in namespace.
func (z *Authorizer) RoleRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	return z.roleRules(ref, namespace)
}
