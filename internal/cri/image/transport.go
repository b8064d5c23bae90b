package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// transport is the HTTP client side of one pull from one endpoint: TLS as
// configured for the host, and a registry that stays silent longer than
// the store's timeout (to connect, to answer, within a body) fails.
func (s *Store) transport(ep endpoint) *endpointTransport {
	d := &idleDialer{dialer: net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}, idle: s.timeout}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   s.timeout,
		ResponseHeaderTimeout: s.timeout,
		// HTTP/1.1: the layers of a pull or push go over connections of
		// their own, encrypted and decrypted on as many cores, with no
		// HTTP/2 flow-control window between a blob and the disk (on
		// loopback, pulls of the benchmark's 200 MiB image went from
		// 75 to 110 MiB/s).
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: pushJobs,
		IdleConnTimeout:     30 * time.Second,
	}
	if tc, ok := s.registries.tls[ep.host]; ok {
		t.TLSClientConfig = tc.Clone()
	}
	return &endpointTransport{next: t, allowHTTP: ep.plainHTTP || isLoopback(ep.host)}
}

// endpointTransport refuses plain HTTP except to loopback registries and
// to endpoints configured as http://. (go-containerregistry would also
// fall back to HTTP for private addresses.)
type endpointTransport struct {
	next      *http.Transport
	allowHTTP bool
}

func (t *endpointTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.allowHTTP {
		return nil, fmt.Errorf("plain HTTP to %s refused: not a loopback registry nor an http:// endpoint in the registries config", req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

func (t *endpointTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// idleDialer makes connections whose reads and writes fail when the peer
// stays silent for idle: a hung registry cannot stall a pull forever.
type idleDialer struct {
	dialer net.Dialer
	idle   time.Duration
}

func (d *idleDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: d.idle}, nil
}

type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

// registryError says what a registry's failure means for the user, with
// the sentinel errors that the CRI layer maps to codes.
func (s *Store) registryError(host string, err error) error {
	var terr *transport.Error
	var nerr net.Error
	switch {
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return fmt.Errorf("registry %s refused access (%d %s): %w: %v", host, terr.StatusCode, http.StatusText(terr.StatusCode), ErrUnauthorized, err)
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return fmt.Errorf("registry %s has no such image (404): %w: %v", host, ErrNotFound, err)
	case errors.As(err, &terr):
		return fmt.Errorf("registry %s failed (%d %s): %w", host, terr.StatusCode, http.StatusText(terr.StatusCode), err)
	case errors.As(err, &nerr) && nerr.Timeout(), isTimeoutMessage(err):
		return fmt.Errorf("registry %s did not answer within %s: %w", host, s.timeout, err)
	}
	return fmt.Errorf("registry %s: %w", host, err)
}

// isTimeoutMessage recognizes timeouts in errors that lost their type on
// the way (go-containerregistry's parallel ping formats them).
func isTimeoutMessage(err error) bool {
	m := err.Error()
	return strings.Contains(m, "timeout awaiting response headers") || strings.Contains(m, "i/o timeout") ||
		strings.Contains(m, "TLS handshake timeout")
}
