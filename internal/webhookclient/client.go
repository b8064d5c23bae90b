// Package webhookclient reaches the webhooks the API server calls
// (admission webhooks, CRD conversion webhooks): a URL, or a service
// whose ready endpoints it dials directly, verified against the
// configuration's caBundle.
package webhookclient

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
)

// Resolver finds where a service's webhook answers: the address
// (ip:port) of a ready endpoint behind port of the service.
type Resolver interface {
	Resolve(ctx context.Context, namespace, name string, port int32) (string, error)
}

// Config is a webhook's client configuration, whichever API group
// declared it: exactly one of URL and Service.
type Config struct {
	URL      *string
	Service  *Service
	CABundle []byte
}

// Service is a webhook served by a service; Port defaults to 443.
type Service struct {
	Namespace, Name string
	Path            *string
	Port            *int32
}

func (s *Service) port() int32 {
	if s.Port == nil {
		return 443
	}
	return *s.Port
}

// Client reaches one webhook endpoint: a URL, or a service whose ready
// endpoints it dials directly (the API server's host may have no route
// to cluster IPs), checking the certificate for <service>.<namespace>.svc.
type Client struct {
	url  string
	http *http.Client
}

// URL is where requests go, without any query.
func (c *Client) URL() string { return c.url }

// Do sends req (whose URL should start with URL()).
func (c *Client) Do(req *http.Request) (*http.Response, error) { return c.http.Do(req) }

// Cache shares clients (and their kept-alive connections) between
// webhooks with the same client configuration, across configuration
// changes.
type Cache struct {
	services Resolver
	mu       sync.Mutex
	clients  map[string]*Client
}

// NewCache returns an empty cache; services resolves service references
// (nil: they have no endpoints).
func NewCache(services Resolver) *Cache {
	return &Cache{services: services, clients: map[string]*Client{}}
}

func key(cc Config) string {
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
	return fmt.Sprintf("svc:%s/%s:%d%s|%s", s.Namespace, s.Name, s.port(), path, ca)
}

// Get returns the client for cc, building it on first use.
func (c *Cache) Get(cc Config) (*Client, error) {
	if (cc.URL == nil) == (cc.Service == nil) {
		return nil, errors.New("exactly one of url or service is required")
	}
	k := key(cc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[k]; ok {
		return cl, nil
	}
	cl, err := c.build(cc)
	if err != nil {
		return nil, err
	}
	c.clients[k] = cl
	return cl, nil
}

// Keep drops the clients not in used, closing their idle connections.
func (c *Cache) Keep(used []*Client) {
	in := map[*Client]bool{}
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

func (c *Cache) build(cc Config) (*Client, error) {
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
	cl := &Client{http: &http.Client{Transport: tr}}
	if cc.URL != nil {
		cl.url = *cc.URL
		return cl, nil
	}
	s := *cc.Service
	host := s.Name + "." + s.Namespace + ".svc"
	p := s.port()
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
