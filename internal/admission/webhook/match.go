package webhook

import (
	"context"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

// matchesRules reports whether one of a webhook's rules selects r, and
// in which version: r's own ("" when a rule names it), or with
// matchPolicy Equivalent the first other version the server serves of
// the resource that a rule names (by the server's version priority, as
// upstream picks it); the webhook then sees r in that version.
func matchesRules(w *admissionv1.ValidatingWebhook, r *auth.AdmissionRequest) (bool, string) {
	var candidates []*admissionv1.RuleWithOperations
	for i := range w.Rules {
		rule := &w.Rules[i]
		if !matchOperation(rule.Operations, r.Operation) || !matchAny(rule.APIGroups, r.APIGroup) ||
			!matchResource(rule.Resources, r.Resource, r.Subresource) || !matchScope(rule.Scope, r) {
			continue
		}
		if matchAny(rule.APIVersions, r.Version) {
			return true, ""
		}
		candidates = append(candidates, rule)
	}
	equivalent := w.MatchPolicy == nil || *w.MatchPolicy == admissionv1.Equivalent
	if !equivalent || len(candidates) == 0 || r.Versions == nil {
		return false, ""
	}
	for _, v := range r.Versions.Served() {
		for _, rule := range candidates {
			if v != r.Version && slices.Contains(rule.APIVersions, v) {
				return true, v
			}
		}
	}
	return false, ""
}

func matchOperation(ops []admissionv1.OperationType, op string) bool {
	for _, o := range ops {
		if o == admissionv1.OperationAll || string(o) == op {
			return true
		}
	}
	return false
}

func matchAny(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// matchResource matches "resource", "resource/subresource", "*" (every
// resource, no subresource), "*/*", "pods/*" and "*/status", as upstream.
func matchResource(patterns []string, resource, sub string) bool {
	for _, p := range patterns {
		res, s, _ := strings.Cut(p, "/")
		if (res == "*" || res == resource) && (s == "*" || s == sub) {
			return true
		}
	}
	return false
}

// matchScope: namespaces themselves count as cluster-scoped.
func matchScope(scope *admissionv1.ScopeType, r *auth.AdmissionRequest) bool {
	if scope == nil || *scope == admissionv1.AllScopes {
		return true
	}
	isNamespace := r.APIGroup == "" && r.Resource == "namespaces"
	switch *scope {
	case admissionv1.NamespacedScope:
		return !isNamespace && r.Namespaced
	case admissionv1.ClusterScope:
		return isNamespace || !r.Namespaced
	}
	return false
}

// matchObject is the objectSelector: the new or the old object matches.
func matchObject(sel labels.Selector, r *auth.AdmissionRequest) bool {
	if sel.Empty() {
		return true
	}
	return objectLabelsMatch(sel, r.Object) || objectLabelsMatch(sel, r.Old)
}

func objectLabelsMatch(sel labels.Selector, obj runtime.Object) bool {
	if obj == nil {
		return false
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(m.GetLabels()))
}

// requestNamespace is the namespace an AdmissionReview names: a
// namespace's own name when the request is about one (except its create,
// as upstream), else the object's.
func requestNamespace(r *auth.AdmissionRequest) string {
	if r.APIGroup == "" && r.Resource == "namespaces" && r.Operation != auth.Create {
		return r.Name
	}
	return r.Namespace
}

// matchNamespace is the namespaceSelector: the labels of the object's
// namespace (a namespace's own, for a namespace). Cluster-scoped objects
// always match.
func (p *Plugin) matchNamespace(ctx context.Context, sel labels.Selector, v *views) (bool, error) {
	r := v.r
	isNamespace := r.APIGroup == "" && r.Resource == "namespaces"
	if sel.Empty() || (!isNamespace && r.Namespace == "") {
		return true, nil
	}
	if isNamespace && r.Subresource == "" && (r.Operation == auth.Create || r.Operation == auth.Update) {
		m, err := meta.Accessor(r.Object)
		if err != nil {
			return false, apierrors.NewInternalError(err)
		}
		return sel.Matches(labels.Set(m.GetLabels())), nil
	}
	name := requestNamespace(r)
	set, ok := v.namespaces[name]
	if !ok {
		if p.cfg.Namespaces == nil {
			return false, apierrors.NewInternalError(errNoNamespaces)
		}
		ns, err := p.cfg.Namespaces.GetNamespace(ctx, name)
		if apierrors.IsNotFound(err) {
			return false, err
		}
		if err != nil {
			return false, apierrors.NewInternalError(err)
		}
		set = labels.Set(ns.Labels)
		if v.namespaces == nil {
			v.namespaces = map[string]labels.Set{}
		}
		v.namespaces[name] = set
	}
	return sel.Matches(set), nil
}
