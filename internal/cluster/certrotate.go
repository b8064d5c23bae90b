package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// RotatingCert is a certificate the server's PKI issues, reissued while
// the server runs once it is due (needsRenewal), so that a server that
// runs for years never presents an expired one: the API server's and the
// registry's serving certificates, its node's kubelet serving
// certificate, the API server's client certificate for kubelets. Each
// handshake reads the current pair (GetCertificate,
// GetClientCertificate) and renews it first when it is due; Run also
// checks on a timer, for a listener that sees no handshake for a long
// time. Existing connections keep the pair they began with.
type RotatingCert struct {
	name  string
	hosts []string // the names it must cover (none for a client certificate)
	issue func() (tls.Certificate, error)
	chain []byte // DER appended to the chain (the CA), or nil
	cur   atomic.Pointer[tls.Certificate]
	// renewAt is when cur is due, in Unix nanoseconds: handshakes compare
	// a number instead of judging the certificate.
	renewAt atomic.Int64
	mu      sync.Mutex // one renewal at a time
}

// NewRotatingServingCert loads (or issues, or renews) the serving
// certificate name for hosts; withCA appends the CA to the chain (a
// joining node checks it against its token's hash).
func (p *PKI) NewRotatingServingCert(name string, hosts []string, withCA bool) (*RotatingCert, error) {
	r := &RotatingCert{name: name, hosts: hosts, issue: func() (tls.Certificate, error) { return p.issueServing(name, hosts) }}
	if withCA {
		r.chain = p.CA.Raw
	}
	return r.load(func() (tls.Certificate, error) { return p.ServingCert(name, hosts) })
}

// NewRotatingClientCert loads (or issues, or renews) the client
// certificate name for user in groups.
func (p *PKI) NewRotatingClientCert(name, user string, groups []string) (*RotatingCert, error) {
	r := &RotatingCert{name: name, issue: func() (tls.Certificate, error) { return p.issueClient(name, user, groups) }}
	return r.load(func() (tls.Certificate, error) { return p.ClientCert(name, user, groups) })
}

// NewRotatingKubeletServingCert is KubeletServingCert, kept current.
func (p *PKI) NewRotatingKubeletServingCert(nodeName string, ips []net.IP) (*RotatingCert, error) {
	r := &RotatingCert{name: kubeletServingName(nodeName), hosts: kubeletServingHosts(nodeName, ips),
		issue: func() (tls.Certificate, error) { return p.issueKubeletServing(nodeName, ips) }}
	return r.load(func() (tls.Certificate, error) { return p.KubeletServingCert(nodeName, ips) })
}

func (r *RotatingCert) load(get func() (tls.Certificate, error)) (*RotatingCert, error) {
	cert, err := get()
	if err != nil {
		return nil, err
	}
	r.store(cert)
	return r, nil
}

func (r *RotatingCert) store(cert tls.Certificate) {
	if r.chain != nil {
		cert.Certificate = append(cert.Certificate, r.chain)
	}
	r.renewAt.Store(cert.Leaf.NotAfter.Add(-renewBefore(cert.Leaf)).UnixNano())
	r.cur.Store(&cert)
}

// Current is the pair handshakes get now.
func (r *RotatingCert) Current() *tls.Certificate { return r.cur.Load() }

// current renews the pair first when it is due; a renewal that fails is
// logged and the old pair served (it is not expired yet: renewal starts
// well before).
func (r *RotatingCert) current() *tls.Certificate {
	if now := time.Now(); now.UnixNano() >= r.renewAt.Load() {
		if _, err := r.RenewIfDue(now); err != nil {
			slog.Error("certificate renewal", "err", err)
		}
	}
	return r.cur.Load()
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *RotatingCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

// GetClientCertificate is for tls.Config.GetClientCertificate.
func (r *RotatingCert) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

// RenewIfDue reissues the certificate when needsRenewal says so at now,
// and swaps it in.
func (r *RotatingCert) RenewIfDue(now time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	renew, why := needsRenewal(r.cur.Load().Leaf, now, r.hosts)
	if !renew {
		return false, nil
	}
	cert, err := r.issue()
	if err != nil {
		return false, fmt.Errorf("renew certificate %s (%s): %w", r.name, why, err)
	}
	r.store(cert)
	slog.Info("renewed certificate while running", "name", r.name, "reason", why, "notAfter", cert.Leaf.NotAfter)
	return true, nil
}

// Run checks every interval until ctx ends; a failed renewal is logged and
// tried again at the next tick.
func (r *RotatingCert) Run(ctx context.Context, interval time.Duration) {
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
