package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/kemudi/kemudi/internal/controller/apiregistration"
)

// frontProxyClient is the front proxy's identity: its certificate's
// common name, the one name aggregated servers accept (upstream's
// kubeadm names it the same).
const frontProxyClient = "front-proxy-client"

// FrontProxy is the front proxy's CA (PEM), a CA of its own beside the
// cluster's in <data-dir>/tls/front-proxy, and the client certificate it
// signed, which the API server presents to aggregated servers; like the
// server's other certificates it is renewed while the server runs.
type FrontProxy struct {
	CAPEM []byte
	Cert  *RotatingCert
}

// FrontProxy loads or creates the front proxy's CA and client certificate.
func (p *PKI) FrontProxy() (*FrontProxy, error) {
	fp, err := LoadOrCreatePKI(filepath.Join(p.Dir, "front-proxy"))
	if err != nil {
		return nil, fmt.Errorf("front proxy CA: %w", err)
	}
	cert, err := fp.NewRotatingClientCert(frontProxyClient, frontProxyClient, nil)
	if err != nil {
		return nil, fmt.Errorf("front proxy client certificate: %w", err)
	}
	return &FrontProxy{CAPEM: fp.CAPEM(), Cert: cert}, nil
}

// runAPIRegistration starts the controllers of upstream's aggregator
// (APIService availability, Local APIServices for the built-in and CRD
// group versions, the extension-apiserver-authentication ConfigMap) in
// the server's process, as a client of its API with the API server's own
// identity. They stop with the server.
func (s *Server) runAPIRegistration(fp *FrontProxy, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	opts := apiregistration.Options{
		ProxyClientCert: fp.Cert.GetClientCertificate,
		Dial:            dial,
		BuiltIn:         s.api.GroupVersions(),
		Authentication:  apiregistration.AuthenticationData(s.PKI.CAPEM(), fp.CAPEM, []string{frontProxyClient}),
	}
	const name, user = "apiregistration", "system:apiserver"
	groups := []string{"system:masters"}
	cfg, ok, err := s.LocalConfig(name, user, groups)
	if err != nil {
		return fmt.Errorf("apiregistration controllers: %w", err)
	}
	if !ok {
		if cfg, err = s.ComponentConfig(name, user, groups); err != nil {
			return fmt.Errorf("apiregistration controllers: %w", err)
		}
	}
	opts.Log = s.log.With("component", "apiregistration-controllers")
	// Handshakes renew the certificate when due; the timer keeps the
	// file current when no aggregated server is called for a long time.
	go fp.Cert.Run(s.runCtx, time.Hour)
	s.local.Go(func() {
		if err := apiregistration.Run(s.runCtx, cfg, opts); err != nil && s.runCtx.Err() == nil {
			opts.Log.Error("APIService controllers stopped", "err", err)
		}
	})
	return nil
}
