// Package node authorizes kubelets as upstream's Node authorizer: users
// named system:node:<name> in the system:nodes group get what upstream's
// system:node cluster role allows, except that secrets, config maps,
// persistent volume claims and service accounts (and their tokens) are
// theirs only while a pod bound to the node uses them (the Graph). The
// NodeRestriction admission plugin (restriction.go) keeps nodes to their
// own Node, Lease and pods.
package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
)

// Group and UserPrefix identify a kubelet.
const (
	Group      = "system:nodes"
	UserPrefix = "system:node:"
	// RoleName is the cluster role whose rules nodes get.
	RoleName = "system:node"
)

// NodeName returns the node a user is, or false when it is not a node.
func NodeName(u *auth.User) (string, bool) {
	if u == nil || !strings.HasPrefix(u.Name, UserPrefix) || !u.InGroup(Group) {
		return "", false
	}
	name := strings.TrimPrefix(u.Name, UserPrefix)
	return name, name != ""
}

// Authorizer is the Node authorization mode.
type Authorizer struct {
	Index *rbac.Index
	// Graph relates nodes to what their pods use; nil leaves reads of
	// secrets and the like to the static rules (not narrowed).
	Graph *Graph
}

// Authorize implements auth.Authorizer: it has no opinion on anyone but
// nodes.
func (z Authorizer) Authorize(ctx context.Context, a auth.Attributes) (auth.Decision, string, error) {
	node, ok := NodeName(a.User)
	if !ok {
		return auth.NoOpinion, "", nil
	}
	if z.Graph != nil && a.ResourceRequest && a.APIGroup == "" {
		if kind, ok := graphKind(a); ok {
			return z.authorizeRelated(node, kind, a)
		}
	}
	role, ok := z.Index.ClusterRole(RoleName)
	if !ok {
		return auth.NoOpinion, "", nil
	}
	if rbac.RulesAllow(role.Rules, &a) {
		return auth.Allow, "", nil
	}
	return auth.NoOpinion, "", nil
}

// graphKind says which requests the graph decides: reads of secrets,
// config maps, claims and service accounts, and service account tokens.
func graphKind(a auth.Attributes) (string, bool) {
	switch {
	case a.Resource == KindSecret && a.Subresource == "",
		a.Resource == KindConfigMap && a.Subresource == "",
		a.Resource == KindPVC && a.Subresource == "",
		a.Resource == KindServiceAccount && a.Subresource == "":
		return a.Resource, true
	case a.Resource == KindServiceAccount && a.Subresource == "token":
		return KindServiceAccount, true
	}
	return "", false
}

func (z Authorizer) authorizeRelated(node, kind string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Subresource == "token" {
		if a.Verb != "create" {
			return auth.NoOpinion, "can only create tokens for individual service accounts", nil
		}
	} else {
		switch a.Verb {
		case "get", "list", "watch":
		default:
			return auth.NoOpinion, "can only read resources of this type", nil
		}
	}
	if a.Name == "" {
		return auth.NoOpinion, "can only read individual objects of this type", nil
	}
	if kind == KindPVC || kind == KindServiceAccount {
		// The static role reads these with get only.
		if a.Subresource == "" && a.Verb != "get" {
			return auth.NoOpinion, "can only get individual objects of this type", nil
		}
	}
	if z.Graph.HasEdge(node, kind, a.Namespace, a.Name) {
		return auth.Allow, "", nil
	}
	return auth.NoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}
