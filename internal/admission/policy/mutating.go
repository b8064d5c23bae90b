package policy

import (
	"log/slog"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission"

	"github.com/kemudi/kemudi/internal/auth"
)

// MutatingPlugin is the MutatingAdmissionPolicy admission plugin
// (auth.MutatingAdmission): the bound policies that match a create or
// update change its object with their CEL mutations, apply
// configurations merged as server-side apply merges, or JSON patches.
// FeedMutating keeps its policies and bindings current; MutatingPhase
// orders it before the webhooks, as upstream.
type MutatingPlugin struct {
	cfg      Config
	compiler compiler
	kinds    kinds
	objects  admission.ObjectInterfaces
	types    *typeConverters

	policySet[*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding, *mutator]
}

// The mutating plugin's policies, compiled into mutators.
type (
	compiledMutating        = boundPolicy[*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding, *mutator]
	compiledMutatingBinding = boundBinding[*admissionregistrationv1.MutatingAdmissionPolicyBinding]
)

func mutatingKind(c *compiler) policyKind[*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding, *mutator] {
	return policyKind[*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding, *mutator]{
		compile: c.compileMutating,
		spec: func(p *admissionregistrationv1.MutatingAdmissionPolicy) (*admissionregistrationv1.MatchResources, *admissionregistrationv1.ParamKind) {
			return p.Spec.MatchConstraints, p.Spec.ParamKind
		},
		target: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) (string, *admissionregistrationv1.MatchResources) {
			return b.Spec.PolicyName, b.Spec.MatchResources
		},
	}
}

// NewMutating returns a plugin with no policies. cfg.Scheme is required:
// built-in objects are converted to the unstructured form CEL and the
// patches work on, and back.
func NewMutating(cfg Config) *MutatingPlugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &MutatingPlugin{
		cfg:     cfg,
		kinds:   newKinds(cfg),
		objects: admission.NewObjectInterfacesFromScheme(cfg.Scheme),
		types:   newTypeConverters(cfg.Scheme, cfg.CustomTypes),
	}
	p.init(mutatingKind(&p.compiler))
	return p
}

var _ auth.MutatingAdmission = (*MutatingPlugin)(nil)
