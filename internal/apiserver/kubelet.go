package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// KubeletClientConfig is how the API server connects to kubelets.
type KubeletClientConfig struct {
	// TLS carries the API server's client certificate (kubelet-client)
	// and the CAs that signed kubelets' serving certificates; nil means
	// no kubelet can be reached (pods/log and the others answer 503).
	TLS *tls.Config
	// DialTimeout bounds connecting to a kubelet (default 5s): a node
	// that is down gives an error within seconds, not a hang.
	DialTimeout time.Duration
}

// kubeletClient reaches kubelets over HTTPS with the API server's client
// certificate; HTTP/1.1 only, so that streams can upgrade.
type kubeletClient struct {
	transport *http.Transport
	// backend reaches pods and services for their proxies: plain HTTP, or
	// HTTPS unverified as upstream's (a pod has no name to verify).
	backend *http.Transport
}

func newKubeletClient(c KubeletClientConfig) *kubeletClient {
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	dialer := &net.Dialer{Timeout: c.DialTimeout, KeepAlive: 30 * time.Second}
	kc := &kubeletClient{backend: &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}},
		TLSHandshakeTimeout: c.DialTimeout,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
	if c.TLS == nil {
		return kc
	}
	t := c.TLS.Clone()
	t.NextProtos = []string{"http/1.1"}
	kc.transport = &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     t,
		TLSHandshakeTimeout: c.DialTimeout,
		ForceAttemptHTTP2:   false,
		// Empty, not nil: no HTTP/2 (upgrades need HTTP/1.1).
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return kc
}

// kubeletPreferredAddresses is the order in which a node's addresses are
// tried (k3s's --kubelet-preferred-address-types).
var kubeletPreferredAddresses = []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS}

// kubeletURL is the base URL of the kubelet on the named node: its
// preferred address from the Node's status and the port it reports in
// status.daemonEndpoints.
func (s *Server) kubeletURL(ctx context.Context, nodeName string) (*url.URL, error) {
	node, err := s.kubeletNode(ctx, nodeName)
	if err != nil {
		return nil, err
	}
	return kubeletNodeURL(node)
}

// kubeletNode reads the node whose kubelet a request goes to.
func (s *Server) kubeletNode(ctx context.Context, nodeName string) (*corev1.Node, error) {
	if s.kubelet.transport == nil {
		return nil, apierrors.NewServiceUnavailable("the API server has no kubelet client configured")
	}
	ep, ok := s.endpoints[endpointKey("", "v1", "nodes")]
	if !ok {
		return nil, apierrors.NewServiceUnavailable("nodes are not served")
	}
	obj, err := s.store.Get(ctx, ep.key("", nodeName), "")
	if err != nil {
		return nil, statusFor(err, ep.groupResource(), nodeName)
	}
	return obj.(*corev1.Node), nil
}

// kubeletNodeURL is the address of node's kubelet API.
func kubeletNodeURL(node *corev1.Node) (*url.URL, error) {
	host := nodeAddress(node)
	if host == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("node %s has no address", node.Name))
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		port = 10250
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, nil
}

func nodeAddress(n *corev1.Node) string {
	for _, t := range kubeletPreferredAddresses {
		for _, a := range n.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}
