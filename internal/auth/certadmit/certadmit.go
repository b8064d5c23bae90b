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

// Plugin is the three CSR plugins in one.
type Plugin struct {
	Authorizer auth.Authorizer
}

// Admit implements auth.Admission.
func (p Plugin) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	if r.APIGroup != certificatesv1.GroupName || r.Resource != "certificatesigningrequests" {
		return nil
	}
	csr, _ := r.Object.(*certificatesv1.CertificateSigningRequest)
	old, _ := r.Old.(*certificatesv1.CertificateSigningRequest)
	switch {
	case r.Operation == auth.Create && csr != nil:
		return restrictSubject(r.Name, csr)
	case r.Operation == auth.Update && r.Subresource == "approval" && csr != nil && old != nil:
		return p.require(ctx, r, "approve", csr.Spec.SignerName)
	case r.Operation == auth.Update && r.Subresource == "status" && csr != nil && old != nil && string(csr.Status.Certificate) != string(old.Status.Certificate):
		return p.require(ctx, r, "sign", csr.Spec.SignerName)
	}
	return nil
}

// require refuses unless the user may verb the signer by name or by its
// domain's wildcard ("example.com/*").
func (p Plugin) require(ctx context.Context, r *auth.AdmissionRequest, verb, signer string) error {
	if p.Authorizer == nil {
		return nil
	}
	a := auth.Attributes{User: r.User, Verb: verb, ResourceRequest: true, APIGroup: certificatesv1.GroupName, Resource: "signers", Name: signer}
	if d, _, _ := p.Authorizer.Authorize(ctx, a); d == auth.Allow {
		return nil
	}
	if domain, _, ok := strings.Cut(signer, "/"); ok {
		a.Name = domain + "/*"
		if d, _, _ := p.Authorizer.Authorize(ctx, a); d == auth.Allow {
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
