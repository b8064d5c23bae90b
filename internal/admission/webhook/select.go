package webhook

import (
	"context"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kemudi/kemudi/internal/auth"
)

// shouldCall decides whether h is called for the request, as upstream's
// ShouldCallHook: rules, namespace and object selectors, then match
// conditions; it returns the request as h sees it (in the version its
// rules matched), nil when h is not called. A non-nil error refuses the
// write.
func (p *Plugin) shouldCall(ctx context.Context, h *hook, views *views) (*auth.AdmissionRequest, error) {
	r := views.r
	if admissionConfiguration(r) {
		return nil, nil
	}
	matched, version := matchesRules(&h.spec, r)
	if !matched {
		return nil, nil
	}
	if h.selErr != nil {
		if h.failOpen() {
			return nil, nil
		}
		return nil, apierrors.NewInternalError(h.selErr)
	}
	ok, err := p.matchNamespace(ctx, h.nsSel, views)
	if err != nil || !ok {
		return nil, err
	}
	if !matchObject(h.objSel, r) {
		return nil, nil
	}
	// The webhook sees the request in the version it matched; its match
	// conditions judge that.
	seen, err := views.in(ctx, version)
	if err != nil {
		return nil, err
	}
	if h.matcher != nil {
		var authz authorizer.UnconditionalAuthorizer
		if p.cfg.Authorizer != nil {
			authz = auth.UpstreamAuthorizer(p.cfg.Authorizer)
		}
		res := h.matcher.Match(ctx, versionedAttributes(seen), nil, authz)
		if res.Error != nil {
			return nil, apierrors.NewForbidden(schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}, r.Name, res.Error)
		}
		if !res.Matches {
			return nil, nil
		}
	}
	return seen, nil
}

// sideEffectsOK says whether h may be called for a dry run.
func sideEffectsOK(h *hook) bool {
	se := h.spec.SideEffects
	return se != nil && (*se == admissionv1.SideEffectClassNone || *se == admissionv1.SideEffectClassNoneOnDryRun)
}

// admissionConfiguration: webhooks are never called on the admission
// configuration objects (webhook configurations, admission policies and
// their bindings), as upstream's IsExemptAdmissionConfigurationResource:
// a broken webhook could otherwise block its own removal.
func admissionConfiguration(r *auth.AdmissionRequest) bool {
	if r.APIGroup != admissionv1.GroupName {
		return false
	}
	switch r.Resource {
	case "validatingwebhookconfigurations", "mutatingwebhookconfigurations",
		"validatingadmissionpolicies", "validatingadmissionpolicybindings",
		"mutatingadmissionpolicies", "mutatingadmissionpolicybindings":
		return true
	}
	return false
}
