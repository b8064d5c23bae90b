// Package certificatesigningrequest serves certificates.k8s.io/v1
// certificate signing requests, with upstream's semantics: the requester's
// identity is recorded on create, /approval changes only the approval
// conditions, /status (the signer's) only the certificate and the other
// conditions, and nothing removes an Approved, Denied or Failed
// condition or changes an issued certificate.
package certificatesigningrequest

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the certificatesigningrequests resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Group: certificatesv1.GroupName, Version: "v1"},
		Resource:     "certificatesigningrequests",
		Kind:         "CertificateSigningRequest",
		SingularName: "certificatesigningrequest",
		ShortNames:   []string{"csr"},
		New:          func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		NewList:      func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		// Upstream takes any name for a CSR.
		NameValidation: func(string, bool) []string { return nil },
		HasStatus:      true,
		Hooks: registry.Hooks{
			PrepareForCreate: prepareForCreate,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				// The spec never changes after create.
				obj.(*certificatesv1.CertificateSigningRequest).Spec = old.(*certificatesv1.CertificateSigningRequest).Spec
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*certificatesv1.CertificateSigningRequest), createOptions)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), updateOptions)
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta:             registry.StatusMetaRequest,
			PrepareForUpdate: prepareStatus,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), statusOptions)
			},
		},
		StatusLike: map[string]registry.StatusHooks{
			"approval": {
				Meta:             registry.StatusMetaRequest,
				PrepareForUpdate: prepareApproval,
				ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
					return ValidateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), approvalOptions)
				},
			},
		},
		SelectableFields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
		},
		Table: table(),
	}
}

// prepareForCreate records who asks (upstream: the requester cannot
// claim another identity) and clears status.
func prepareForCreate(ctx context.Context, obj runtime.Object) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	if u, ok := auth.UserFrom(ctx); ok {
		csr.Spec.Username, csr.Spec.UID = u.Name, u.UID
		csr.Spec.Groups = append([]string(nil), u.Groups...)
		if len(u.Extra) > 0 {
			csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
			for k, v := range u.Extra {
				csr.Spec.Extra[k] = append(certificatesv1.ExtraValue(nil), v...)
			}
		}
	}
	csr.Status = certificatesv1.CertificateSigningRequestStatus{}
}

// prepareStatus: the signer's update changes the certificate and the
// non-approval conditions; Approved and Denied stay as they were.
func prepareStatus(_ context.Context, obj, old runtime.Object) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = prev.Spec
	preserveConditions(csr, prev, certificatesv1.CertificateApproved)
	preserveConditions(csr, prev, certificatesv1.CertificateDenied)
	stampConditions(csr, prev)
}

// prepareApproval: an approval changes the conditions only.
func prepareApproval(_ context.Context, obj, old runtime.Object) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = prev.Spec
	csr.Status.Certificate = prev.Status.Certificate
	stampConditions(csr, prev)
}
