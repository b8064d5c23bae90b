package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kemudi/kemudi/internal/admission/webhook"
	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
)

// remoteTransport reaches one APIService's server.
type remoteTransport struct {
	// key names the settings it was built from.
	key        string
	serverName string
	transport  *http.Transport
}

// tlsKey names what an APIService's transport is built from.
func tlsKey(svc *apiregistrationv1.APIService) string {
	return fmt.Sprintf("%s/%s/%t/%x", svc.Spec.Service.Namespace, svc.Spec.Service.Name, svc.Spec.InsecureSkipTLSVerify, svc.Spec.CABundle)
}

// transport returns the APIService's transport, building it when its
// TLS settings changed.
func (a *aggregator) transport(svc *apiregistrationv1.APIService) (*remoteTransport, error) {
	if a.cfg.ProxyClientCert == nil {
		return nil, fmt.Errorf("the API server has no front proxy client certificate")
	}
	key := tlsKey(svc)
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.transports[svc.Name]; ok && t.key == key {
		return t, nil
	}
	tlsConfig, err := apiservice.ClientTLS(svc, a.cfg.ProxyClientCert)
	if err != nil {
		return nil, err
	}
	dial := a.cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	t := &remoteTransport{key: key, serverName: tlsConfig.ServerName, transport: &http.Transport{
		DialContext:         dial,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 5 * time.Second,
		// Empty, not nil: no HTTP/2, so that upgrades work.
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}}
	if old, ok := a.transports[svc.Name]; ok {
		old.transport.CloseIdleConnections()
	}
	a.transports[svc.Name] = t
	return t, nil
}

// resolve picks a ready endpoint of the APIService's service, serving
// its port (upstream's endpoint routing).
func (a *aggregator) resolve(ctx context.Context, svc *apiregistrationv1.APIService) (string, error) {
	port := int32(443)
	if svc.Spec.Service.Port != nil {
		port = *svc.Spec.Service.Port
	}
	return webhook.StoreResolver{Store: a.store}.Resolve(ctx, svc.Spec.Service.Namespace, svc.Spec.Service.Name, port)
}

// group is /apis/<name> for a group served only by aggregated servers,
// nil for any other.
func (a *aggregator) group(name string) *metav1.APIGroup {
	r := a.remote.Load()
	if r.localGroups[name] {
		return nil
	}
	for _, svcs := range r.groups {
		if svcs[0].Spec.Group == name {
			g := apiGroupOf(svcs)
			g.Kind, g.APIVersion = "APIGroup", "v1"
			return &g
		}
	}
	return nil
}

// apiGroupOf is a group's legacy discovery entry: its versions by
// priority, the first preferred (upstream lists every APIService, available
// or not).
func apiGroupOf(svcs []*apiregistrationv1.APIService) metav1.APIGroup {
	g := metav1.APIGroup{Name: svcs[0].Spec.Group}
	for _, svc := range svcs {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: svc.Spec.Group + "/" + svc.Spec.Version, Version: svc.Spec.Version})
	}
	g.PreferredVersion = g.Versions[0]
	return g
}
