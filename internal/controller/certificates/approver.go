package certificates

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/certificates/certificatesigningrequest"
)

// ApprovingName is the approver's name in --controllers.
const ApprovingName = "csrapproving"

// recognizer is one kind of CSR the approver knows: when it matches, the
// requester needs create on certificatesigningrequests/<subresource>.
type recognizer struct {
	subresource string
	matches     func(csr *certificatesv1.CertificateSigningRequest, commonName string) bool
	message     string
}

// recognizers are upstream's, most specific first.
var recognizers = []recognizer{
	{
		subresource: "selfnodeclient",
		matches: func(csr *certificatesv1.CertificateSigningRequest, cn string) bool {
			return csr.Spec.Username == cn
		},
		message: "Auto approving self kubelet client certificate after SubjectAccessReview.",
	},
	{
		subresource: "nodeclient",
		matches:     func(*certificatesv1.CertificateSigningRequest, string) bool { return true },
		message:     "Auto approving kubelet client certificate after SubjectAccessReview.",
	},
}

// Approver approves kubelet client CSRs (signer
// kubernetes.io/kube-apiserver-client-kubelet) whose requester may create
// certificatesigningrequests/selfnodeclient (a node renewing its own
// certificate) or /nodeclient (a bootstrap token), as upstream's
// sarapprove, and a node's kubelet-serving CSR for its own name and
// addresses (servingApproval). Other CSRs are left for a person or another
// approver.
type Approver struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	nodes  corelisters.NodeLister
	log    *slog.Logger
	loop   *controller.Loop
}

// NewApprover builds the approver.
func NewApprover(c *controller.Context) (*Approver, error) {
	inf := c.Informers.Certificates().V1().CertificateSigningRequests()
	log := c.Logger(ApprovingName)
	a := &Approver{client: c.Client, csrs: inf.Lister(), nodes: c.Informers.Core().V1().Nodes().Lister(), log: log}
	a.loop = c.NewLoop(ApprovingName, a.sync, log)
	enqueue := func(obj interface{}) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && !decided(csr) {
			a.loop.Enqueue(csr)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// Run approves until ctx ends.
func (a *Approver) Run(ctx context.Context) error {
	a.loop.Run(ctx, 2)
	return nil
}

func (a *Approver) sync(ctx context.Context, key string) error {
	csr, err := a.csrs.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if decided(csr) {
		return nil
	}
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName && csr.Spec.SignerName != certificatesv1.KubeletServingSignerName {
		return nil
	}
	req, err := certificatesigningrequest.ParseRequest(csr.Spec.Request)
	if err != nil {
		return controller.Terminal(fmt.Errorf("csr %s: %w", key, err))
	}
	if csr.Spec.SignerName == certificatesv1.KubeletServingSignerName {
		return a.approveServing(ctx, key, csr, req)
	}
	if validateKubeletClient(req, csr.Spec.Usages) != nil {
		return nil // not a node client certificate: not ours to approve
	}
	for _, r := range recognizers {
		if !r.matches(csr, req.Subject.CommonName) {
			continue
		}
		ok, err := a.allowed(ctx, csr, r.subresource)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		return a.approve(ctx, key, csr, req, r.message)
	}
	return nil
}

// approveServing approves a node's request for its own serving
// certificate (see servingApproval); a request for anything else is left
// for a person.
func (a *Approver) approveServing(ctx context.Context, key string, csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) error {
	name := strings.TrimPrefix(req.Subject.CommonName, nodeUserPrefix)
	node, err := a.nodes.Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	switch err := servingApproval(csr, req, node); {
	case errors.Is(err, errNodeNotRegistered):
		return fmt.Errorf("csr %s: %w", key, err) // retried until the Node appears
	case err != nil:
		a.log.Info("left for an admin", "csr", key, "requester", csr.Spec.Username, "reason", err)
		return nil
	}
	return a.approve(ctx, key, csr, req, servingMessage)
}

func (a *Approver) approve(ctx context.Context, key string, csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest, message string) error {
	approved := csr.DeepCopy()
	approved.Status.Conditions = append(approved.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "AutoApproved", Message: message,
	})
	if _, err := a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, approved, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("approve csr %s: %w", key, err)
	}
	a.log.Info("approved", "csr", key, "requester", csr.Spec.Username, "subject", req.Subject.CommonName, "signer", csr.Spec.SignerName)
	return nil
}

// allowed asks the API whether the requester may create
// certificatesigningrequests/<subresource>.
func (a *Approver) allowed(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group: certificatesv1.GroupName, Resource: "certificatesigningrequests", Subresource: subresource, Verb: "create",
		},
	}}
	out, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review for csr %s: %w", csr.Name, err)
	}
	return out.Status.Allowed, nil
}
