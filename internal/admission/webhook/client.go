package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
)

// client reaches one webhook endpoint: a URL, or a service whose ready
// endpoints it dials directly (the API server's host may have no route
// to cluster IPs), checking the certificate for <service>.<namespace>.svc.
type client struct {
	key  string
	url  string // without the ?timeout= query
	http *http.Client
}

// clientCache shares clients (and their kept-alive connections) between
// webhooks with the same client configuration, across configuration
// changes.
type clientCache struct {
	services Resolver
	mu       sync.Mutex
	clients  map[string]*client
}

func newClientCache(services Resolver) *clientCache {
	return &clientCache{services: services, clients: map[string]*client{}}
}

func clientKey(cc admissionv1.WebhookClientConfig) string {
	sum := sha256.Sum256(cc.CABundle)
	ca := hex.EncodeToString(sum[:8])
	if cc.URL != nil {
		return "url:" + *cc.URL + "|" + ca
	}
	s := cc.Service
	path := ""
	if s.Path != nil {
		path = *s.Path
	}
	return fmt.Sprintf("svc:%s/%s:%d%s|%s", s.Namespace, s.Name, port(s), path, ca)
}

func port(s *admissionv1.ServiceReference) int32 {
	if s.Port == nil {
		return 443
	}
	return *s.Port
}

func (c *clientCache) get(cc admissionv1.WebhookClientConfig) (*client, error) {
	if (cc.URL == nil) == (cc.Service == nil) {
		return nil, errors.New("exactly one of url or service is required")
	}
	key := clientKey(cc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	cl, err := c.build(key, cc)
	if err != nil {
		return nil, err
	}
	c.clients[key] = cl
	return cl, nil
}

// keep drops the clients no webhook uses any more.
func (c *clientCache) keep(used []*client) {
	in := map[*client]bool{}
	for _, cl := range used {
		in[cl] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, cl := range c.clients {
		if !in[cl] {
			cl.http.CloseIdleConnections()
			delete(c.clients, k)
		}
	}
}

func (c *clientCache) build(key string, cc admissionv1.WebhookClientConfig) (*client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cc.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cc.CABundle) {
			return nil, errors.New("clientConfig.caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     tlsConfig,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	cl := &client{key: key, http: &http.Client{Transport: tr}}
	if cc.URL != nil {
		cl.url = *cc.URL
		return cl, nil
	}
	s := *cc.Service
	host := s.Name + "." + s.Namespace + ".svc"
	p := port(&s)
	tlsConfig.ServerName = host
	cl.url = "https://" + net.JoinHostPort(host, strconv.Itoa(int(p)))
	if s.Path != nil {
		cl.url += *s.Path
	}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		if c.services == nil {
			return nil, fmt.Errorf("no endpoints available for service %q", s.Name)
		}
		addr, err := c.services.Resolve(ctx, s.Namespace, s.Name, p)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return cl, nil
}
