package apiserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/streaming/pkg/httpstream"
)

// splitSchemeNamePort reads a proxy subresource's name: "name",
// "name:port" or "scheme:name:port" (scheme http or https), as upstream.
func splitSchemeNamePort(id string) (scheme, name, port string, ok bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
		if scheme != "http" && scheme != "https" {
			return "", "", "", false
		}
	default:
		return "", "", "", false
	}
	return scheme, name, port, name != ""
}

// serveProxy serves pods/proxy, services/proxy and nodes/proxy: the
// request, upgrades included, goes on to the pod, one of the service's
// endpoints, or the node's kubelet.
func (s *Server) serveProxy(rq *request) {
	scheme, name, port, ok := splitSchemeNamePort(rq.info.Name)
	if !ok {
		s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("invalid %s request %q", rq.ep.groupResource().Resource, rq.info.Name)))
		return
	}
	var target *url.URL
	var err error
	transport := http.RoundTripper(s.kubelet.backend)
	switch rq.ep.groupResource().Resource {
	case "pods":
		target, err = s.podProxyTarget(rq, scheme, name, port)
	case "services":
		target, err = s.serviceProxyTarget(rq, scheme, name, port)
	case "nodes":
		target, err = s.kubeletURL(rq.ctx(), name)
		if err == nil && port != "" && port != target.Port() {
			// Another port of the node: plain HTTP unless asked.
			if scheme == "" {
				scheme = "http"
			}
			target = &url.URL{Scheme: scheme, Host: net.JoinHostPort(target.Hostname(), port)}
		} else if err == nil {
			transport = s.kubelet.transport
		}
	}
	if err != nil {
		s.fail(rq, err)
		return
	}
	// An empty path goes out as "/"; the prefix the answer's links get
	// is the request's path without it.
	target.Path = rq.info.ProxyPath
	target.RawQuery = rq.r.URL.RawQuery
	if !httpstream.IsUpgradeRequest(rq.r) {
		if proxyRootRedirect(rq.w, rq.r, rq.info.ProxyPath) {
			return
		}
		transport = rewritingTransport(rq.r, rq.info.ProxyPath, transport)
	}
	// Upstream's message for a backend out of reach, the kubelet included.
	rp := s.reverseProxy(rq, target, transport, "error trying to reach service")
	rewrite := rp.Rewrite
	rp.Rewrite = func(pr *httputil.ProxyRequest) {
		rewrite(pr)
		forwardAsClient(pr)
	}
	rp.ServeHTTP(rq.w, rq.r)
}

func (s *Server) podProxyTarget(rq *request, scheme, name, port string) (*url.URL, error) {
	obj, err := s.store.Get(rq.ctx(), rq.ep.key(rq.info.Namespace, name), "")
	if err != nil {
		return nil, statusFor(err, rq.ep.groupResource(), name)
	}
	pod := obj.(*corev1.Pod)
	if pod.Status.PodIP == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address yet", name))
	}
	if port == "" {
		for _, c := range pod.Spec.Containers {
			if len(c.Ports) > 0 {
				port = strconv.Itoa(int(c.Ports[0].ContainerPort))
				break
			}
		}
	} else if _, err := strconv.Atoi(port); err != nil {
		// A named container port.
		named := ""
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == port {
					named = strconv.Itoa(int(p.ContainerPort))
				}
			}
		}
		if named == "" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s has no port named %q", name, port))
		}
		port = named
	}
	host := pod.Status.PodIP
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	if scheme == "" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: host}, nil
}

func (s *Server) serviceProxyTarget(rq *request, scheme, name, port string) (*url.URL, error) {
	obj, err := s.store.Get(rq.ctx(), rq.ep.key(rq.info.Namespace, name), "")
	if err != nil {
		return nil, statusFor(err, rq.ep.groupResource(), name)
	}
	svc := obj.(*corev1.Service)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("no endpoints available for service %q", name))
	}
	var svcPort *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Name == port || strconv.Itoa(int(p.Port)) == port {
			svcPort = &svc.Spec.Ports[i]
			break
		}
	}
	if svcPort == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %q found for service %q", port, name))
	}
	ep, ok := s.endpoints[endpointKey("", "v1", "endpoints")]
	if !ok {
		return nil, apierrors.NewServiceUnavailable("endpoints are not served")
	}
	eobj, err := s.store.Get(rq.ctx(), ep.key(rq.info.Namespace, name), "")
	if err != nil {
		if apierrors.IsNotFound(statusFor(err, ep.groupResource(), name)) {
			return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
		}
		return nil, statusFor(err, ep.groupResource(), name)
	}
	var hosts []string
	for _, ss := range eobj.(*corev1.Endpoints).Subsets {
		for _, p := range ss.Ports {
			if p.Name != svcPort.Name {
				continue
			}
			for _, a := range ss.Addresses {
				hosts = append(hosts, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	if len(hosts) == 0 {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	if scheme == "" {
		scheme = "http"
	}
	return &url.URL{Scheme: scheme, Host: hosts[rand.IntN(len(hosts))]}, nil
}
