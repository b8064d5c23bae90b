package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/apiserver"
)

// maxSocketPath is the longest unix socket path Linux takes, less room
// for the terminating NUL.
const maxSocketPath = 107

// LocalConfig returns a client config for a component running in the
// server's own process: plain HTTP over a unix socket in
// <data-dir>/run that only root can open, whose every connection is the
// component's identity. It talks to the same API as a remote client does,
// without the TLS handshakes, encryption and certificate checks that cost
// a tenth of the server's CPU under load. ok is false when the socket
// path would be too long for Linux; use ComponentConfig then.
func (s *Server) LocalConfig(name, user string, groups []string) (_ *rest.Config, ok bool, err error) {
	dir := filepath.Join(s.dataDir, "run")
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.sock", name, s.sockets.Add(1)))
	if len(path) > maxSocketPath {
		return nil, false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create socket dir: %w", err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, false, fmt.Errorf("remove stale socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, false, fmt.Errorf("listen for %s: %w", name, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, false, fmt.Errorf("restrict %s: %w", path, err)
	}
	identity := &apiserver.User{Name: user, Groups: append(append([]string{}, groups...), "system:authenticated")}
	// The listener outlives the component's own context so that it can
	// still release its leader lease while stopping.
	s.local.Go(func() {
		if err := s.api.ServeLocal(s.runCtx, l, identity); err != nil {
			s.log.Error("local API listener stopped", "component", name, "err", err)
		}
	})
	var dialer net.Dialer
	return &rest.Config{
		// The host names nothing; every connection goes to the socket.
		Host: "http://kemudi-local",
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
		// Not used to connect: the controller manager publishes it as
		// kube-root-ca.crt.
		TLSClientConfig: rest.TLSClientConfig{CAData: s.PKI.CAPEM()},
	}, true, nil
}
