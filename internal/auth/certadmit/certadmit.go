// Package certadmit holds upstream's admission plugins for certificate
// signing requests: CertificateApproval (approving or denying takes the
// approve verb on the CSR's signer), CertificateSigning (issuing a
// certificate takes the sign verb on it) and CertificateSubjectRestriction
// (no kube-apiserver-client certificate for the system:masters group).
package certadmit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry/certificates/certificatesigningrequest"
)

var csrs = schema.GroupResource{Group: certificatesv1.GroupName, Resource: "certificatesigningrequests"}

// Approval is CertificateApproval: approving or denying a CSR (its
// approval subresource) takes the approve verb on its signer.
type Approval struct {
	Authorizer auth.Authorizer
}

// Admit implements auth.Admission.
func (p Approval) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	csr, old, ok := csrsOf(r)
	if !ok || r.Operation != auth.Update || r.Subresource != "approval" || csr == nil || old == nil {
		return nil
	}
	return require(ctx, p.Authorizer, r, "approve", csr.Spec.SignerName)
}

// Signing is CertificateSigning: issuing a certificate (a change of the
// status's certificate) takes the sign verb on the CSR's signer.
type Signing struct {
	Authorizer auth.Authorizer
}

// Admit implements auth.Admission.
func (p Signing) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	csr, old, ok := csrsOf(r)
	if !ok || r.Operation != auth.Update || r.Subresource != "status" || csr == nil || old == nil ||
		string(csr.Status.Certificate) == string(old.Status.Certificate) {
		return nil
	}
	return require(ctx, p.Authorizer, r, "sign", csr.Spec.SignerName)
}

// SubjectRestriction is CertificateSubjectRestriction: no
// kube-apiserver-client certificate for the system:masters group.
type SubjectRestriction struct{}

// Admit implements auth.Admission.
func (SubjectRestriction) Admit(_ context.Context, r *auth.AdmissionRequest) error {
	csr, _, ok := csrsOf(r)
	if !ok || r.Operation != auth.Create || csr == nil {
		return nil
	}
	return restrictSubject(r.Name, csr)
}

// csrsOf returns the request's CSRs (new, old; nil where there is none),
// ok when it is about CSRs.
func csrsOf(r *auth.AdmissionRequest) (csr, old *certificatesv1.CertificateSigningRequest, ok bool) {
	if r.APIGroup != certificatesv1.GroupName || r.Resource != "certificatesigningrequests" {
		return nil, nil, false
	}
	csr, _ = r.Object.(*certificatesv1.CertificateSigningRequest)
	old, _ = r.Old.(*certificatesv1.CertificateSigningRequest)
	return csr, old, true
}

// require refuses unless the user may verb the signer by name or by its
// domain's wildcard ("example.com/*").
func require(ctx context.Context, authorizer auth.Authorizer, r *auth.AdmissionRequest, verb, signer string) error {
	if authorizer == nil {
		return nil
	}
	a := auth.Attributes{User: r.User, Verb: verb, ResourceRequest: true, APIGroup: certificatesv1.GroupName, Resource: "signers", Name: signer}
	if d, _, _ := authorizer.Authorize(ctx, a); d == auth.Allow {
		return nil
	}
	if domain, _, ok := strings.Cut(signer, "/"); ok {
		a.Name = domain + "/*"
		if d, _, _ := authorizer.Authorize(ctx, a); d == auth.Allow {
			return nil
		}
	}
	return apierrors.NewForbidden(csrs, r.Name, fmt.Errorf("user not permitted to %s requests with signerName %q", verb, signer))
}

// restrictSubject is CertificateSubjectRestriction.
func restrictSubject(name string, csr *certificatesv1.CertificateSigningRequest) error {
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return nil
	}
	req, err := certificatesigningrequest.ParseRequest(csr.Spec.Request)
	if err != nil {
		return apierrors.NewForbidden(csrs, name, fmt.Errorf("failed to parse CSR: %v", err))
	}
	if slices.Contains(req.Subject.Organization, auth.SystemMasters) {
		return apierrors.NewForbidden(csrs, name, errors.New("use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"))
	}
	return nil
}
