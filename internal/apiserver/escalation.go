package apiserver

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
)

// withUser carries the authenticated (or impersonated) user of a request
// in its context, for the checks that depend on who writes.
func withUser(ctx context.Context, u *User) context.Context {
	return auth.WithUser(ctx, u)
}

func userFrom(ctx context.Context) (*User, bool) {
	return auth.UserFrom(ctx)
}

// fullAuthority is what changing an aggregated cluster role takes: its
// rules are the controller's to set.
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

// checkEscalation refuses a role or binding write that would grant more
// than the writer holds, as upstream's RBAC storage does: a role only
// with rules the user has (or the escalate verb on it), a binding only to
// a role whose rules the user has (or the bind verb on it). The server's
// own writes (no user) and system:masters pass.
//
// old is the stored object of an update (nil on create): an update that
// changes only what the garbage collector changes (owner references,
// finalizers) passes too.
func (s *Server) checkEscalation(ctx context.Context, ep *endpoint, obj, old runtime.Object) error {
	if s.rbac == nil || ep.GroupVersion.Group != rbacv1.GroupName {
		return nil
	}
	u, ok := userFrom(ctx)
	if !ok || u.InGroup(auth.SystemMasters) || onlyGCFields(obj, old) {
		return nil
	}
	creating := old == nil
	var namespace, name string
	var rules []rbacv1.PolicyRule
	var permit auth.Attributes
	var ref rbacv1.RoleRef // of a binding
	var refNS string
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		name, rules = o.Name, o.Rules
		if o.AggregationRule != nil {
			rules = fullAuthority
		}
		permit = auth.Attributes{Verb: "escalate", Resource: "clusterroles"}
	case *rbacv1.Role:
		namespace, name, rules = o.Namespace, o.Name, o.Rules
		permit = auth.Attributes{Verb: "escalate", Resource: "roles"}
	case *rbacv1.ClusterRoleBinding:
		name = o.Name
		permit = auth.Attributes{Verb: "bind", Resource: "clusterroles", Name: o.RoleRef.Name}
		ref, refNS = o.RoleRef, ""
	case *rbacv1.RoleBinding:
		namespace, name = o.Namespace, o.Name
		permit = auth.Attributes{Verb: "bind", Resource: strings.ToLower(o.RoleRef.Kind) + "s", Name: o.RoleRef.Name, Namespace: o.Namespace}
		ref, refNS = o.RoleRef, o.Namespace
	default:
		return nil
	}
	// escalate is asked about the role being written: upstream names it
	// only on updates (a create's path carries no name).
	if permit.Verb == "escalate" {
		permit.Namespace = namespace
		if !creating {
			permit.Name = name
		}
	}
	permit.User, permit.ResourceRequest, permit.APIGroup = u, true, rbacv1.GroupName
	if d, _, _ := s.authz.Authorize(ctx, permit); d == auth.Allow {
		return nil
	}
	if ref.Name != "" {
		// Binding to a role that does not exist is refused like upstream:
		// not found (there is nothing to compare with).
		var err error
		if rules, err = s.rbac.RoleRules(ref, refNS); err != nil {
			return apierrors.NewNotFound(schemaGR(rbacv1.GroupName, strings.ToLower(ref.Kind)+"s"), ref.Name)
		}
	}
	owner, _ := s.rbac.Rules(u, namespace)
	if ok, missing := rbac.Covers(owner, rules); !ok {
		lines := make([]string, len(missing))
		for i, r := range missing {
			lines[i] = rbac.CompactString(r)
		}
		return apierrors.NewForbidden(ep.groupResource(), name, fmt.Errorf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.Name, u.Groups, strings.Join(lines, "\n")))
	}
	return nil
}

// onlyGCFields reports whether obj differs from old in owner references,
// finalizers and bookkeeping metadata only.
func onlyGCFields(obj, old runtime.Object) bool {
	if old == nil {
		return false
	}
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		m, err := meta.Accessor(o)
		if err != nil {
			return false
		}
		m.SetOwnerReferences(nil)
		m.SetFinalizers(nil)
		m.SetManagedFields(nil)
		m.SetResourceVersion("")
		m.SetGeneration(0)
	}
	return apiequality.Semantic.DeepEqual(a, b)
}
