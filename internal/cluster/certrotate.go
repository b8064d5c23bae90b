package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// RotatingServingCert serves a PKI serving certificate and reissues it
// while the server runs once it is due (needsRenewal), so that a server
// that runs for a year never presents an expired certificate. Handshakes
// read the current pair through GetCertificate; existing connections keep
// the one they began with.
type RotatingServingCert struct {
	pki   *PKI
	name  string
	hosts []string
	// withCA appends the CA to the chain (see NewServer: a joining node
	// checks it against its token's hash).
	withCA bool
	cur    atomic.Pointer[tls.Certificate]
}

// NewRotatingServingCert loads (or issues, or renews) the serving
// certificate name for hosts.
func (p *PKI) NewRotatingServingCert(name string, hosts []string, withCA bool) (*RotatingServingCert, error) {
	r := &RotatingServingCert{pki: p, name: name, hosts: hosts, withCA: withCA}
	cert, err := p.ServingCert(name, hosts)
	if err != nil {
		return nil, err
	}
	r.store(cert)
	return r, nil
}

func (r *RotatingServingCert) store(cert tls.Certificate) {
	if r.withCA {
		cert.Certificate = append(cert.Certificate, r.pki.CA.Raw)
	}
	r.cur.Store(&cert)
}

// Current is the pair handshakes get now.
func (r *RotatingServingCert) Current() *tls.Certificate { return r.cur.Load() }

// GetCertificate is for tls.Config.GetCertificate.
func (r *RotatingServingCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// RenewIfDue reissues the certificate when needsRenewal says so at now,
// and swaps it in.
func (r *RotatingServingCert) RenewIfDue(now time.Time) (bool, error) {
	renew, why := needsRenewal(r.cur.Load().Leaf, now, r.hosts)
	if !renew {
		return false, nil
	}
	cert, err := r.pki.issueServing(r.name, r.hosts)
	if err != nil {
		return false, fmt.Errorf("renew serving certificate %s (%s): %w", r.name, why, err)
	}
	r.store(cert)
	slog.Info("renewed serving certificate while running", "name", r.name, "reason", why, "notAfter", cert.Leaf.NotAfter)
	return true, nil
}

// Run checks every interval until ctx ends; a failed renewal is logged and
// tried again at the next tick.
func (r *RotatingServingCert) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := r.RenewIfDue(now); err != nil {
				slog.Error("certificate renewal", "err", err)
			}
		}
	}
}
