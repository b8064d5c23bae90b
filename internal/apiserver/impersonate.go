package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kemudi/kemudi/internal/auth"
)

// The impersonation headers, as upstream's (kubectl --as, --as-group).
const (
	headerImpersonateUser  = "Impersonate-User"
	headerImpersonateGroup = "Impersonate-Group"
	headerImpersonateUID   = "Impersonate-Uid"
	headerImpersonateExtra = "Impersonate-Extra-"
)

// impersonate returns who the request acts as: u, or the user its
// Impersonate-* headers name when u may impersonate each part of it (the
// impersonate verb on users, groups, serviceaccounts, uids and
// userextras). When refused it has answered already.
func (s *Server) impersonate(w http.ResponseWriter, r *http.Request, u *User) (*User, bool) {
	name := r.Header.Get(headerImpersonateUser)
	groups := r.Header.Values(headerImpersonateGroup)
	uid := r.Header.Get(headerImpersonateUID)
	extra := impersonatedExtra(r.Header)
	if name == "" && len(groups) == 0 && uid == "" && len(extra) == 0 {
		return u, true
	}
	out := output{mediaType: mediaJSON}
	if name == "" {
		s.writeError(w, out, apierrors.NewBadRequest(fmt.Sprintf("requested %v without impersonating a user", append(groups, uid))))
		return nil, false
	}
	checks := []auth.Attributes{userAttributes(u, name)}
	for _, g := range groups {
		checks = append(checks, auth.Attributes{User: u, Verb: "impersonate", ResourceRequest: true, Resource: "groups", Name: g})
	}
	if uid != "" {
		checks = append(checks, auth.Attributes{User: u, Verb: "impersonate", ResourceRequest: true, APIGroup: "authentication.k8s.io", Resource: "uids", Name: uid})
	}
	for k, vs := range extra {
		for _, v := range vs {
			checks = append(checks, auth.Attributes{User: u, Verb: "impersonate", ResourceRequest: true, APIGroup: "authentication.k8s.io", Resource: "userextras", Subresource: k, Name: v})
		}
	}
	for _, a := range checks {
		if !s.authorize(w, r, a) {
			return nil, false
		}
	}
	as := &User{Name: name, UID: uid, Groups: slices.Clone(groups), Extra: extra}
	if ns, _, ok := serviceAccountOf(name); ok {
		as.Groups = append(as.Groups, auth.ServiceAccountGroups(ns)...)
	} else if name != auth.Anonymous && !slices.Contains(as.Groups, auth.Authenticated) {
		as.Groups = append(as.Groups, auth.Authenticated)
	}
	return as, true
}

// userAttributes is the check for impersonating name: a service account
// is impersonated through the serviceaccounts resource, anyone else
// through users.
func userAttributes(u *User, name string) auth.Attributes {
	if ns, sa, ok := serviceAccountOf(name); ok {
		return auth.Attributes{User: u, Verb: "impersonate", ResourceRequest: true, Resource: "serviceaccounts", Namespace: ns, Name: sa}
	}
	return auth.Attributes{User: u, Verb: "impersonate", ResourceRequest: true, Resource: "users", Name: name}
}

// serviceAccountOf splits system:serviceaccount:<ns>:<name>.
func serviceAccountOf(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, auth.ServiceAccountPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != "" && !strings.Contains(name, ":")
}

// impersonatedExtra reads Impersonate-Extra-<key> headers; keys are
// percent-encoded and case-insensitive, as upstream.
func impersonatedExtra(h http.Header) map[string][]string {
	var extra map[string][]string
	for k, vs := range h {
		if len(k) <= len(headerImpersonateExtra) || !strings.EqualFold(k[:len(headerImpersonateExtra)], headerImpersonateExtra) {
			continue
		}
		key := strings.ToLower(k[len(headerImpersonateExtra):])
		if dec, err := url.PathUnescape(key); err == nil {
			key = dec
		}
		if extra == nil {
			extra = map[string][]string{}
		}
		extra[key] = append(extra[key], vs...)
	}
	return extra
}
