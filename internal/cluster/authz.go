package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/node"
	"github.com/kemudi/kemudi/internal/auth/rbac"
	"github.com/kemudi/kemudi/internal/storage"
)

// The authorization modes --authorization-mode takes, as upstream's.
const (
	ModeAlwaysAllow = "AlwaysAllow"
	ModeNode        = "Node"
	ModeRBAC        = "RBAC"
)

// DefaultAuthorizationModes are upstream's recommended modes.
var DefaultAuthorizationModes = []string{ModeNode, ModeRBAC}

// authorization is the API server's authorizer, built from the modes.
type authorization struct {
	authorizer auth.Authorizer // nil: everything is allowed
	rules      auth.RuleResolver
	rbac       *rbac.Authorizer // nil without RBAC
	index      *rbac.Index      // nil without Node or RBAC
	synced     <-chan struct{}
}

// newAuthorization builds the authorizers the modes name, in order, after
// the system:masters bypass. The RBAC objects they read are kept in
// memory from the store's watch cache until ctx ends.
func newAuthorization(ctx context.Context, modes []string, store *storage.Store, log *slog.Logger) (*authorization, error) {
	if len(modes) == 0 {
		modes = DefaultAuthorizationModes
	}
	z := &authorization{}
	union := auth.Union{auth.Masters{}}
	seen := map[string]bool{}
	var rules ruleResolvers
	for _, m := range modes {
		if seen[m] {
			return nil, fmt.Errorf("authorization mode %q named twice", m)
		}
		seen[m] = true
		switch m {
		case ModeAlwaysAllow:
			union = append(union, auth.AlwaysAllow{})
		case ModeNode:
			graph := node.NewGraph()
			_, fresh := node.Feed(ctx, store, graph, log)
			union = append(union, node.Authorizer{Index: z.rbacIndex(ctx, store, log), Graph: graph, Fresh: fresh})
			rules = append(rules, nodeRules{})
		case ModeRBAC:
			r := rbac.New(z.rbacIndex(ctx, store, log))
			union = append(union, r)
			z.rbac = r
			rules = append(rules, r)
		default:
			return nil, fmt.Errorf("authorization mode %q is not one of %s, %s, %s", m, ModeAlwaysAllow, ModeNode, ModeRBAC)
		}
	}
	if len(rules) > 0 {
		z.rules = rules
	}
	if len(modes) == 1 && modes[0] == ModeAlwaysAllow {
		return z, nil
	}
	z.authorizer = union
	return z, nil
}

func (z *authorization) rbacIndex(ctx context.Context, store *storage.Store, log *slog.Logger) *rbac.Index {
	if z.index == nil {
		z.index = rbac.NewIndex()
		z.synced = rbac.Feed(ctx, store, z.index, log)
	}
	return z.index
}

// waitFor waits until the authorizer sees objs (the bootstrap policy the
// server just created), so that the components it starts next are not
// refused for a moment.
func (z *authorization) waitFor(ctx context.Context, objs []runtime.Object) error {
	if z.index == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-z.synced:
	case <-ctx.Done():
		return fmt.Errorf("load the RBAC policy: %w", ctx.Err())
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for _, o := range objs {
		switch o.(type) {
		case *rbacv1.ClusterRole, *rbacv1.Role, *rbacv1.ClusterRoleBinding, *rbacv1.RoleBinding:
		default:
			continue
		}
		for !z.index.Contains(o) {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fmt.Errorf("wait for the RBAC policy: %w", ctx.Err())
			}
		}
	}
	return nil
}
