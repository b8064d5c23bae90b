package auth

import (
	"fmt"
	"strings"
)

// ForbiddenMessage is upstream's reason for a refused request, e.g.
// `User "system:serviceaccount:default:ci" cannot list resource "pods" in
// API group "" in the namespace "default"`.
func ForbiddenMessage(a Attributes) string {
	username := ""
	if a.User != nil {
		username = a.User.Name
	}
	if !a.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", username, a.Verb, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource = resource + "/" + a.Subresource
	}
	if a.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", username, a.Verb, resource, a.APIGroup, a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", username, a.Verb, resource, a.APIGroup)
}

// ForbiddenReason appends an authorizer's reason to the message, as
// upstream does ("...: RBAC: clusterrole.rbac.authorization.k8s.io
// \"x\" not found").
func ForbiddenReason(a Attributes, reason string) string {
	msg := ForbiddenMessage(a)
	if reason = strings.TrimSpace(reason); reason != "" {
		msg += ": " + reason
	}
	return msg
}
