package rbac

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// CompactString writes a rule as upstream's escalation errors do:
// {APIGroups:["apps"], Resources:["deployments"], Verbs:["create"]}
// (each list as %q prints it, in upstream's field order).
func CompactString(r rbacv1.PolicyRule) string {
	var parts []string
	add := func(name string, vs []string) {
		if len(vs) == 0 {
			return
		}
		parts = append(parts, fmt.Sprintf("%s:%q", name, vs))
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("NonResourceURLs", r.NonResourceURLs)
	add("ResourceNames", r.ResourceNames)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}
