// Package node authorizes kubelets: users named system:node:<name> in the
// system:nodes group get what upstream's system:node cluster role allows.
//
// It does not yet narrow reads of secrets, config maps, volumes and
// service-account tokens to the pods bound to the node, as upstream's node
// authorizer does with its graph of pods; that comes with NodeRestriction.
package node

import (
	"context"
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

// Authorizer is the Node authorization mode.
type Authorizer struct {
	Index *rbac.Index
}

// Authorize implements auth.Authorizer: it has no opinion on anyone but
// nodes.
func (z Authorizer) Authorize(ctx context.Context, a auth.Attributes) (auth.Decision, string, error) {
	if a.User == nil || !strings.HasPrefix(a.User.Name, UserPrefix) || !a.User.InGroup(Group) {
		return auth.NoOpinion, "", nil
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
