package webhook

import (
	"context"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kemudi/kemudi/internal/auth"
)

// shouldCall decides whether h is called for r, as upstream's
// ShouldCallHook: namespace and object selectors, rules, then match
// conditions. A non-nil error refuses the write.
func (p *Plugin) shouldCall(ctx context.Context, h *hook, r *auth.AdmissionRequest, nsCache map[string]labels.Set) (bool, error) {
	if admissionConfiguration(r) || !matchesRules(&h.spec, r, p.cfg.Served) {
		return false, nil
	}
	if h.selErr != nil {
		if h.failOpen() {
			return false, nil
		}
		return false, apierrors.NewInternalError(h.selErr)
	}
	ok, err := p.matchNamespace(ctx, h.nsSel, r, nsCache)
	if err != nil || !ok {
		return false, err
	}
	if !matchObject(h.objSel, r) {
		return false, nil
	}
	if h.matcher != nil {
		var authz authorizer.UnconditionalAuthorizer
		if p.cfg.Authorizer != nil {
			authz = auth.UpstreamAuthorizer(p.cfg.Authorizer)
		}
		res := h.matcher.Match(ctx, versionedAttributes(r), nil, authz)
		if res.Error != nil {
			return false, apierrors.NewForbidden(schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}, r.Name, res.Error)
		}
		if !res.Matches {
			return false, nil
		}
	}
	return true, nil
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
