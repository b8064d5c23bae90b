package policy

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
)

// The validating plugin's policies, compiled into validators.
type (
	compiledPolicy  = boundPolicy[*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, validating.Validator]
	compiledBinding = boundBinding[*admissionregistrationv1.ValidatingAdmissionPolicyBinding]
	snapshot        = boundSnapshot[*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, validating.Validator]
)

func validatingKind(c *compiler) policyKind[*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, validating.Validator] {
	return policyKind[*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, validating.Validator]{
		compile: c.compile,
		spec: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) (*admissionregistrationv1.MatchResources, *admissionregistrationv1.ParamKind) {
			return p.Spec.MatchConstraints, p.Spec.ParamKind
		},
		target: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) (string, *admissionregistrationv1.MatchResources) {
			return b.Spec.PolicyName, b.Spec.MatchResources
		},
	}
}
