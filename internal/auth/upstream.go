package auth

import (
	"context"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// UpstreamUser is u as k8s.io/apiserver's libraries carry a user (the
// admission attributes that CEL expressions read).
func UpstreamUser(u *User) user.Info {
	if u == nil {
		return &user.DefaultInfo{}
	}
	return &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

// UpstreamAuthorizer lets k8s.io/apiserver's libraries ask z, e.g. the CEL
// `authorizer` variable of match conditions and admission policies.
func UpstreamAuthorizer(z Authorizer) authorizer.UnconditionalAuthorizer {
	return upstreamAuthorizer{z}
}

type upstreamAuthorizer struct{ z Authorizer }

func (c upstreamAuthorizer) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	var u *User
	if info := a.GetUser(); info != nil {
		u = &User{Name: info.GetName(), UID: info.GetUID(), Groups: info.GetGroups(), Extra: info.GetExtra()}
	}
	d, reason, err := c.z.Authorize(ctx, Attributes{
		User: u, Verb: a.GetVerb(), ResourceRequest: a.IsResourceRequest(),
		APIGroup: a.GetAPIGroup(), APIVersion: a.GetAPIVersion(), Resource: a.GetResource(),
		Subresource: a.GetSubresource(), Namespace: a.GetNamespace(), Name: a.GetName(), Path: a.GetPath(),
	})
	switch d {
	case Allow:
		return authorizer.DecisionAllow, reason, err
	case Deny:
		return authorizer.DecisionDeny, reason, err
	}
	return authorizer.DecisionNoOpinion, reason, err
}
