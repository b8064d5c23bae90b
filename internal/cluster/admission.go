package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kemudi/kemudi/internal/admission"
	"github.com/kemudi/kemudi/internal/admission/builtin"
	"github.com/kemudi/kemudi/internal/admission/policy"
	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/certadmit"
	"github.com/kemudi/kemudi/internal/auth/node"
	"github.com/kemudi/kemudi/internal/auth/podsecurity"
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// ImplementedAdmissionPlugins are the admission plugins kemudi has, under
// upstream's names.
func ImplementedAdmissionPlugins() []string {
	return append(builtin.Names(),
		"NodeRestriction", "PodSecurity",
		"CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction",
		"MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook")
}

// DefaultAdmissionPlugins are those that run unless disabled: upstream's
// default set, as far as kemudi implements it, and NodeRestriction, which
// upstream leaves to the installer (kubeadm and k3s turn it on) and
// kemudi always ran, since its nodes join with their own identities.
func DefaultAdmissionPlugins() []string {
	impl := sets.New(ImplementedAdmissionPlugins()...)
	var on []string
	for _, n := range admission.UpstreamDefaultOn() {
		if impl.Has(n) {
			on = append(on, n)
		}
	}
	return append(on, "NodeRestriction")
}

// selectAdmissionPlugins applies --enable-admission-plugins and
// --disable-admission-plugins to the defaults.
func selectAdmissionPlugins(enable, disable []string, log *slog.Logger) ([]string, error) {
	names, warnings, err := admission.Select(ImplementedAdmissionPlugins(), DefaultAdmissionPlugins(), enable, disable)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	return names, nil
}

// admissionParts are what the chain is made of, built beforehand for the
// plugins that run (nil for those that do not).
type admissionParts struct {
	builtin            []admission.Plugin
	nodeRestriction    node.Restriction
	podSecurity        auth.Admission
	authorizer         auth.Authorizer // for the certificate plugins
	validatingPolicies auth.Admission
	mutatingPolicies   *policy.MutatingPlugin
	webhooks           interface {
		auth.Admission
		auth.MutatingAdmission
	}
}

// newAdmissionParts builds the plugins names asks for, reading from store.
func newAdmissionParts(ctx context.Context, names []string, opts ServerOptions, store *storage.Store, scheme *runtime.Scheme, resources []*registry.Resource, authz auth.Authorizer) (*admissionParts, error) {
	on := func(n string) bool { return slices.Contains(names, n) }
	p := &admissionParts{builtin: builtin.New(store), authorizer: authz, nodeRestriction: node.Restriction{
		Pods:       builtin.NewStoreResource[*corev1.Pod](store, corev1.Resource("pods")),
		Nodes:      builtin.NewStoreResource[*corev1.Node](store, corev1.Resource("nodes")),
		Authorizer: authz,
	}}
	if on("PodSecurity") {
		ps, err := newPodSecurity(opts.AdmissionControlConfigFile, store)
		if err != nil {
			return nil, err
		}
		p.podSecurity = ps
	}
	if on("ValidatingAdmissionPolicy") {
		vap, err := newAdmissionPolicy(ctx, store, scheme, resources, authz, opts.Log.With("component", "admission-policy"))
		if err != nil {
			return nil, err
		}
		p.validatingPolicies = vap
	}
	if on("MutatingAdmissionPolicy") {
		mp, err := newMutatingAdmissionPolicy(ctx, store, scheme, resources, authz, opts.Log.With("component", "mutating-admission-policy"))
		if err != nil {
			return nil, err
		}
		p.mutatingPolicies = mp
	}
	if on("MutatingAdmissionWebhook") || on("ValidatingAdmissionWebhook") {
		wh, err := newAdmissionWebhooks(ctx, store, resources, authz, opts.Log.With("component", "admission-webhook"))
		if err != nil {
			return nil, err
		}
		p.webhooks = wh
	}
	return p, nil
}

// collectors are the admission plugins' own metrics, for /metrics.
func (p *admissionParts) collectors() []prometheus.Collector {
	if ps, ok := p.podSecurity.(*podsecurity.Plugin); ok {
		return ps.Collectors()
	}
	return nil
}

// assembleAdmission is the chain of the plugins names, in upstream's order.
func assembleAdmission(names []string, p *admissionParts) (*admission.Chain, error) {
	on := sets.New(names...)
	var plugins []admission.Plugin
	for _, b := range p.builtin {
		if on.Has(b.Name) {
			plugins = append(plugins, b)
		}
	}
	validating := func(name string, a auth.Admission) {
		if on.Has(name) {
			plugins = append(plugins, admission.Plugin{Name: name, Validating: a})
		}
	}
	// nodeDNSSlices is kemudi's NodeRestriction of what its own RBAC
	// lets nodes write.
	validating("NodeRestriction", auth.Admissions{p.nodeRestriction, nodeDNSSlices{}})
	validating("PodSecurity", p.podSecurity)
	validating("CertificateApproval", certadmit.Approval{Authorizer: p.authorizer})
	validating("CertificateSigning", certadmit.Signing{Authorizer: p.authorizer})
	validating("CertificateSubjectRestriction", certadmit.SubjectRestriction{})
	var hooks auth.MutatingAdmission
	if on.Has("MutatingAdmissionWebhook") {
		hooks = p.webhooks
	}
	switch {
	case on.Has("MutatingAdmissionPolicy"):
		// The policies and the webhooks are one phase: a policy runs again
		// after a webhook's change (upstream's reinvocation).
		plugins = append(plugins, admission.Plugin{Name: "MutatingAdmissionPolicy", Mutating: policy.MutatingPhase{Policies: p.mutatingPolicies, Webhooks: hooks}})
		if hooks != nil {
			plugins = append(plugins, admission.Plugin{Name: "MutatingAdmissionWebhook"})
		}
	case hooks != nil:
		plugins = append(plugins, admission.Plugin{Name: "MutatingAdmissionWebhook", Mutating: hooks})
	}
	validating("ValidatingAdmissionPolicy", p.validatingPolicies)
	if on.Has("ValidatingAdmissionWebhook") {
		plugins = append(plugins, admission.Plugin{Name: "ValidatingAdmissionWebhook", Validating: p.webhooks})
	}
	c, err := admission.NewChain(plugins...)
	if err != nil {
		return nil, fmt.Errorf("admission chain: %w", err)
	}
	return c, nil
}
