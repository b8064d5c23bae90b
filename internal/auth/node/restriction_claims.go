package node

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/auth"
)

// admitPVCStatus admits a node's update of a claim's status that changes
// nothing but its capacity, conditions and allocated resources (the
// kubelet reports a volume's expansion).
func admitPVCStatus(node string, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Update {
		return forbidden(r, fmt.Errorf("unexpected operation %q", r.Operation))
	}
	old, ok := r.Old.(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Old))
	}
	pvc, ok := r.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	old, pvc = old.DeepCopy(), pvc.DeepCopy()
	for _, c := range []*corev1.PersistentVolumeClaim{old, pvc} {
		c.ResourceVersion = ""
		c.ManagedFields = nil
		c.Status.Capacity = nil
		c.Status.Conditions = nil
		c.Status.AllocatedResources = nil
		c.Status.AllocatedResourceStatuses = nil
	}
	if !equality.Semantic.DeepEqual(old, pvc) {
		return forbidden(r, fmt.Errorf("node %q is not allowed to update fields other than status.quantity and status.conditions: %v", node, diff.Diff(old, pvc)))
	}
	return nil
}

// unselectsNode says whether a node's update of a claim only removes
// the claim's volume.kubernetes.io/selected-node naming that node: the
// node's local-path provisioner hands back a claim it has no room for,
// as external-provisioner does, so that the scheduler places it again.
// Upstream's plugin has no such case (its provisioners are pods with
// accounts of their own); the node can only give up its own claims.
func unselectsNode(node string, r *auth.AdmissionRequest) bool {
	if r.Operation != auth.Update {
		return false
	}
	old, ok := r.Old.(*corev1.PersistentVolumeClaim)
	if !ok || old.Annotations[storagehelpers.AnnSelectedNode] != node {
		return false
	}
	pvc, ok := r.Object.(*corev1.PersistentVolumeClaim)
	if !ok {
		return false
	}
	if _, still := pvc.Annotations[storagehelpers.AnnSelectedNode]; still {
		return false
	}
	old, pvc = old.DeepCopy(), pvc.DeepCopy()
	delete(old.Annotations, storagehelpers.AnnSelectedNode)
	for _, c := range []*corev1.PersistentVolumeClaim{old, pvc} {
		c.ResourceVersion = ""
		c.ManagedFields = nil
		if len(c.Annotations) == 0 {
			c.Annotations = nil
		}
	}
	return equality.Semantic.DeepEqual(old, pvc)
}

// admitToken admits a node's token request only when bound to a pod on
// the node (by name and UID), so that the node cannot mint a token for
// an account of a pod elsewhere.
func (p Restriction) admitToken(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Create || r.Subresource != "token" {
		return nil
	}
	tr, ok := r.Object.(*authenticationv1.TokenRequest)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return forbidden(r, errors.New("node requested token not bound to a pod"))
	}
	if ref.UID == "" {
		return forbidden(r, errors.New("node requested token with a pod binding without a uid"))
	}
	pod, err := p.getPod(ctx, r, r.Namespace, ref.Name)
	if err != nil {
		return err
	}
	if ref.UID != pod.UID {
		return forbidden(r, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	if pod.Spec.NodeName != node {
		return forbidden(r, errors.New("node requested token bound to a pod scheduled on a different node"))
	}
	if err := p.checkAudience(ctx, r, tr, pod); err != nil {
		return forbidden(r, err)
	}
	return nil
}

// checkAudience lets a node request a token only for an audience its
// pod's projected token volumes name ("" for the API server's), or one
// it is authorized for with the request-serviceaccounts-token-audience
// verb on the audience, as upstream's ServiceAccountNodeAudienceRestriction.
// kemudi serves no CSIDrivers, so no driver's token audience counts.
func (p Restriction) checkAudience(ctx context.Context, r *auth.AdmissionRequest, tr *authenticationv1.TokenRequest, pod *corev1.Pod) error {
	audience := ""
	switch len(tr.Spec.Audiences) {
	case 0:
	case 1:
		audience = tr.Spec.Audiences[0]
	default:
		return errors.New("node may only request 0 or 1 audiences")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience == audience {
				return nil
			}
		}
	}
	if p.Authorizer == nil {
		return nil
	}
	d, _, err := p.Authorizer.Authorize(ctx, auth.Attributes{
		User: r.User, Verb: "request-serviceaccounts-token-audience", ResourceRequest: true,
		APIGroup: r.APIGroup, APIVersion: r.Version, Resource: audience, Namespace: r.Namespace, Name: r.Name,
	})
	if d == auth.Allow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error authorizing %s to request tokens for audience %q: %w", r.User.Name, audience, err)
	}
	return fmt.Errorf("%s is not authorized to request tokens for audience %q", r.User.Name, audience)
}

// admitCSR admits a node's CSR for a kubelet's client or serving
// certificate only in its own name.
func admitCSR(node string, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Create {
		return nil
	}
	csr, ok := r.Object.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName && csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return nil
	}
	req, err := parseCSR(csr.Spec.Request)
	if err != nil {
		return forbidden(r, fmt.Errorf("unable to parse csr: %w", err))
	}
	if req.Subject.CommonName != UserPrefix+node {
		return forbidden(r, fmt.Errorf("can only create a node CSR with CN=system:node:%s", node))
	}
	return nil
}

// parseCSR reads the PEM CERTIFICATE REQUEST block of a CSR.
func parseCSR(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}
