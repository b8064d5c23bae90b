package cluster

import (
	"context"
	"errors"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/node"
)

// ruleResolvers lists a user's rules from each authorization mode in
// turn, as upstream's union of rule resolvers: the rules together, the
// list incomplete when one mode's is, and every mode's error.
type ruleResolvers []auth.RuleResolver

// RulesFor implements auth.RuleResolver.
func (rs ruleResolvers) RulesFor(ctx context.Context, u *auth.User, namespace string) ([]auth.ResourceRule, []auth.NonResourceRule, bool, error) {
	var (
		res        []auth.ResourceRule
		non        []auth.NonResourceRule
		incomplete bool
		errs       []error
	)
	for _, r := range rs {
		rr, nr, inc, err := r.RulesFor(ctx, u, namespace)
		res, non = append(res, rr...), append(non, nr...)
		incomplete = incomplete || inc
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, non, incomplete, errors.Join(errs...)
}

// nodeRules is the Node mode's answer: as upstream's, it does not list
// what a node may do (that depends on the pods bound to it), so a node's
// list is incomplete.
type nodeRules struct{}

// RulesFor implements auth.RuleResolver.
func (nodeRules) RulesFor(_ context.Context, u *auth.User, _ string) ([]auth.ResourceRule, []auth.NonResourceRule, bool, error) {
	if _, ok := node.IsNode(u); ok {
		return nil, nil, true, errors.New("node authorizer does not support user rule resolution")
	}
	return nil, nil, false, nil
}
