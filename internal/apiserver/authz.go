package apiserver

import (
	"errors"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kemudi/kemudi/internal/auth"
)

// attributesFor is what request r by u asks to do, as upstream's request
// info says it: info when r addresses a resource, else the path.
func attributesFor(r *http.Request, u *User, info *requestInfo) auth.Attributes {
	if info == nil {
		verb := strings.ToLower(r.Method)
		if verb == "head" {
			verb = "get"
		}
		return auth.Attributes{User: u, Verb: verb, Path: r.URL.Path}
	}
	a := auth.Attributes{
		User: u, Verb: info.Verb, ResourceRequest: true,
		APIGroup: info.Group, APIVersion: info.Version, Resource: info.Resource,
		Subresource: info.Subresource, Namespace: info.Namespace, Name: info.Name,
	}
	// A namespace is in itself: a role binding in team-a granting "get
	// namespaces" lets one read team-a.
	if a.Resource == "namespaces" && a.Name != "" && a.Namespace == "" {
		a.Namespace = a.Name
	}
	// A list or watch of one name (fieldSelector=metadata.name=x) is
	// authorized as for that name, so that a rule with resourceNames
	// allows a client to watch the one object it may read.
	if fs := r.URL.Query().Get("fieldSelector"); fs != "" && (a.Verb == "list" || a.Verb == "watch" || a.Verb == "deletecollection") {
		if sel, err := fields.ParseSelector(fs); err == nil {
			a.FieldSelector = sel.Requirements()
			if name, ok := sel.RequiresExactMatch("metadata.name"); ok && a.Name == "" && a.Verb != "deletecollection" {
				a.Name = name
			}
		}
	}
	return a
}

// authorize reports whether a may proceed; when not, it has answered
// with upstream's 403 (or a 500 when the authorizer failed).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, a auth.Attributes) bool {
	return s.decide(w, r, a, false)
}

// authorizeRequest is authorize for the request itself, whose answer the
// audit log records (the checks of impersonation and of subresources'
// second verbs are not).
func (s *Server) authorizeRequest(w http.ResponseWriter, r *http.Request, a auth.Attributes) bool {
	return s.decide(w, r, a, s.audit != nil)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request, a auth.Attributes, annotate bool) bool {
	if s.authz == nil {
		return true
	}
	d, reason, err := s.authz.Authorize(r.Context(), a)
	if annotate {
		annotateDecision(r.Context(), d, reason)
	}
	if d == auth.Allow {
		return true
	}
	out, ok := negotiate(r)
	if !ok {
		out = output{mediaType: mediaJSON}
	}
	if err != nil && d == auth.NoOpinion {
		s.log.Error("authorize", "user", a.User.Name, "verb", a.Verb, "resource", a.Resource, "path", a.Path, "err", err)
		s.writeError(w, out, apierrors.NewInternalError(err))
		return false
	}
	s.writeError(w, out, forbidden(a, reason))
	return false
}

// forbidden is upstream's 403 for a refused request.
func forbidden(a auth.Attributes, reason string) *apierrors.StatusError {
	msg := errors.New(auth.ForbiddenReason(a, reason))
	if !a.ResourceRequest {
		return apierrors.NewForbidden(schemaGR("", ""), "", msg)
	}
	return apierrors.NewForbidden(schemaGR(a.APIGroup, a.Resource), a.Name, msg)
}
