package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// CleanerName is the cleaner's name in --controllers.
const CleanerName = "csrcleaner"

// Upstream's ages after which the cleaner removes a CSR.
const (
	decidedTTL = time.Hour      // approved (and issued), denied, failed
	pendingTTL = 24 * time.Hour // never decided
	sweepEvery = time.Hour
)

// Cleaner deletes CSRs that are done with, as upstream's csrcleaner: an
// hour after approval, denial or failure, a day after creation when
// never decided, and at once when their certificate has expired.
type Cleaner struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	synced func() bool
	clock  clock.PassiveClock
	log    *slog.Logger
}

// NewCleaner builds the cleaner.
func NewCleaner(c *controller.Context) (*Cleaner, error) {
	inf := c.Informers.Certificates().V1().CertificateSigningRequests()
	return &Cleaner{client: c.Client, csrs: inf.Lister(), synced: inf.Informer().HasSynced, clock: c.Clock, log: c.Logger(CleanerName)}, nil
}

// Run sweeps every hour until ctx ends.
func (cl *Cleaner) Run(ctx context.Context) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if cl.synced() {
			cl.sweep(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (cl *Cleaner) sweep(ctx context.Context) {
	csrs, err := cl.csrs.List(labels.Everything())
	if err != nil {
		cl.log.Warn("list csrs", "err", err)
		return
	}
	for _, csr := range csrs {
		if !Expired(csr, cl.clock.Now()) {
			continue
		}
		err := cl.client.CertificatesV1().CertificateSigningRequests().Delete(ctx, csr.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &csr.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			cl.log.Warn("delete csr", "csr", csr.Name, "err", err)
			continue
		}
		cl.log.Info("deleted old csr", "csr", csr.Name)
	}
}

// Expired says whether the cleaner removes csr at now.
func Expired(csr *certificatesv1.CertificateSigningRequest, now time.Time) bool {
	if certificateExpired(csr.Status.Certificate, now) {
		return true
	}
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			if c.Type == certificatesv1.CertificateApproved && len(csr.Status.Certificate) == 0 && !hasCondition(csr, certificatesv1.CertificateFailed) {
				continue // approved, waiting for its signer
			}
			at := c.LastUpdateTime.Time
			if at.IsZero() {
				at = csr.CreationTimestamp.Time
			}
			if now.Sub(at) > decidedTTL {
				return true
			}
		}
	}
	return !decided(csr) && now.Sub(csr.CreationTimestamp.Time) > pendingTTL
}

func certificateExpired(pemData []byte, now time.Time) bool {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	return now.After(cert.NotAfter)
}
