package certificates

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/certificates/certificatesigningrequest"
)

// SigningName is the signer's name in --controllers.
const SigningName = "csrsigning"

// backdate is how far before now a certificate starts, for clocks that
// lag (upstream's 5 minutes). A long-lived certificate ends backdate
// earlier too; a short-lived one (under shortLived) lasts its whole
// duration from now, as upstream's signing policy has it.
const (
	backdate   = 5 * time.Minute
	shortLived = 8 * time.Hour
)

// CA is a certificate authority the signer issues with.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCA reads a PEM certificate and its PEM private key.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("signing CA: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("signing CA %s: no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing CA %s: %w", certFile, err)
	}
	key, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("signing CA key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing CA key %s: %T cannot sign", keyFile, key)
	}
	return &CA{Cert: cert, Key: signer}, nil
}

// signerPolicy is what one signer issues: the checks its requests pass
// and the certificates' extended usages.
type signerPolicy struct {
	validate func(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error
}

// policies are the kubernetes.io signers kemudi's cluster CA serves.
var policies = map[string]signerPolicy{
	certificatesv1.KubeAPIServerClientKubeletSignerName: {validate: validateKubeletClient},
	certificatesv1.KubeletServingSignerName:             {validate: validateKubeletServing},
	certificatesv1.KubeAPIServerClientSignerName: {validate: func(_ *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
		return usagesWithin(usages,
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
			[]certificatesv1.KeyUsage{certificatesv1.UsageClientAuth})
	}},
}

// Signer issues the certificates of approved CSRs for the kubernetes.io
// client, kubelet client and kubelet serving signers, as upstream's
// csrsigning controller: a request its signer refuses gets a Failed
// condition, the others a certificate that lasts spec.expirationSeconds
// (at most ClusterSigningDuration, and never past the CA).
type Signer struct {
	client   kubernetes.Interface
	csrs     certlisters.CertificateSigningRequestLister
	ca       *CA
	duration time.Duration
	clock    clock.PassiveClock
	log      *slog.Logger
	loop     *controller.Loop
}

// NewSigner builds the signer from the CA files in c.Options; without
// them it runs and signs nothing, saying so once.
func NewSigner(c *controller.Context) (*Signer, error) {
	log := c.Logger(SigningName)
	s := &Signer{client: c.Client, duration: c.Options.ClusterSigningDuration, clock: c.Clock, log: log}
	if s.duration <= 0 {
		s.duration = 365 * 24 * time.Hour
	}
	if c.Options.ClusterSigningCertFile == "" {
		log.Warn("no --cluster-signing-cert-file: certificate signing requests are not signed")
		return s, nil
	}
	ca, err := LoadCA(c.Options.ClusterSigningCertFile, c.Options.ClusterSigningKeyFile)
	if err != nil {
		return nil, err
	}
	s.ca = ca
	inf := c.Informers.Certificates().V1().CertificateSigningRequests()
	s.csrs = inf.Lister()
	s.loop = c.NewLoop(SigningName, s.sync, log)
	enqueue := func(obj interface{}) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && wantsCertificate(csr) {
			s.loop.Enqueue(csr)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// Run signs until ctx ends.
func (s *Signer) Run(ctx context.Context) error {
	if s.loop == nil {
		<-ctx.Done()
		return nil
	}
	s.loop.Run(ctx, 2)
	return nil
}

// wantsCertificate: approved, not failed, not yet issued, for a signer
// this controller serves.
func wantsCertificate(csr *certificatesv1.CertificateSigningRequest) bool {
	_, ours := policies[csr.Spec.SignerName]
	return ours && len(csr.Status.Certificate) == 0 && hasCondition(csr, certificatesv1.CertificateApproved) &&
		!hasCondition(csr, certificatesv1.CertificateDenied) && !hasCondition(csr, certificatesv1.CertificateFailed)
}

func (s *Signer) sync(ctx context.Context, key string) error {
	csr, err := s.csrs.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !wantsCertificate(csr) {
		return nil
	}
	csr = csr.DeepCopy()
	req, err := certificatesigningrequest.ParseRequest(csr.Spec.Request)
	if err == nil {
		err = policies[csr.Spec.SignerName].validate(req, csr.Spec.Usages)
	}
	if err != nil {
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
			Reason: "SignerValidationFailure", Message: err.Error(),
		})
		s.log.Info("refused", "csr", key, "signer", csr.Spec.SignerName, "reason", err)
	} else {
		der, err := s.Sign(req, csr.Spec.Usages, csr.Spec.ExpirationSeconds)
		if err != nil {
			return fmt.Errorf("sign csr %s: %w", key, err)
		}
		csr.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if _, err := s.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update csr %s: %w", key, err)
	}
	if len(csr.Status.Certificate) > 0 {
		s.log.Info("signed", "csr", key, "signer", csr.Spec.SignerName, "subject", req.Subject.CommonName)
	}
	return nil
}

// Sign issues a certificate for req with usages, lasting expiration
// seconds when set (capped at the signer's duration and the CA's end).
func (s *Signer) Sign(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, expiration *int32) ([]byte, error) {
	ttl := s.duration
	if expiration != nil && time.Duration(*expiration)*time.Second < ttl {
		ttl = time.Duration(*expiration) * time.Second
	}
	now := s.clock.Now()
	notBefore := now.Add(-backdate)
	notAfter := now.Add(ttl - backdate)
	if ttl < shortLived {
		notAfter = now.Add(ttl)
	}
	if notAfter.After(s.ca.Cert.NotAfter) {
		notAfter = s.ca.Cert.NotAfter
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	keyUsage, extUsage := x509Usages(usages)
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        req.Subject,
		DNSNames:       req.DNSNames,
		IPAddresses:    req.IPAddresses,
		EmailAddresses: req.EmailAddresses,
		URIs:           req.URIs,
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       keyUsage,
		ExtKeyUsage:    extUsage,
		// The subject's own key, never a CA.
		BasicConstraintsValid: true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, s.ca.Cert, req.PublicKey, s.ca.Key)
}

// x509Usages maps a CSR's usages to the certificate's.
func x509Usages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage) {
	keyUsages := map[certificatesv1.KeyUsage]x509.KeyUsage{
		certificatesv1.UsageSigning:           x509.KeyUsageDigitalSignature,
		certificatesv1.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
		certificatesv1.UsageContentCommitment: x509.KeyUsageContentCommitment,
		certificatesv1.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
		certificatesv1.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
		certificatesv1.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
		certificatesv1.UsageCertSign:          x509.KeyUsageCertSign,
		certificatesv1.UsageCRLSign:           x509.KeyUsageCRLSign,
		certificatesv1.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
		certificatesv1.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
	}
	extUsages := map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
		certificatesv1.UsageAny:             x509.ExtKeyUsageAny,
		certificatesv1.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
		certificatesv1.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
		certificatesv1.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
		certificatesv1.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
		certificatesv1.UsageSMIME:           x509.ExtKeyUsageEmailProtection,
		certificatesv1.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
		certificatesv1.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
		certificatesv1.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
		certificatesv1.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
		certificatesv1.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
		certificatesv1.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
		certificatesv1.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
	}
	var ku x509.KeyUsage
	var eku []x509.ExtKeyUsage
	for _, u := range usages {
		if k, ok := keyUsages[u]; ok {
			ku |= k
		}
		if e, ok := extUsages[u]; ok {
			eku = append(eku, e)
		}
	}
	return ku, eku
}
