package apiserver

import (
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

// admitConnect sends a connect request (pods/exec, attach, portforward
// and the proxies) through admission as operation CONNECT, as upstream's
// ConnectResource: the object is the request's options (PodExecOptions,
// PodAttachOptions, ...), read from its query, with no old object and no
// options; mutating plugins run first, then validating ones. It answers
// the refusal and returns false when one refuses.
//
// What a mutating plugin makes of the options is not used: the stream
// takes the query as sent (upstream's connecters do not read it back
// either).
func (s *Server) admitConnect(rq *request) bool {
	if s.admission == nil && s.mutating == nil {
		return true
	}
	// A stream opened with GET (WebSocket) is a read to the server, whose
	// context carries no user: the request's is the one.
	u := rq.user
	if u == nil {
		return true
	}
	ctx := withUser(rq.ctx(), u)
	opts, kind := connectOptions(rq.ep.groupResource().Resource, rq.info.Subresource, rq.r.URL.Query(), rq.info.ProxyPath)
	if opts == nil {
		return true
	}
	r := &auth.AdmissionRequest{
		User: u, Operation: auth.Connect,
		APIGroup: rq.ep.GroupVersion.Group, Resource: rq.ep.Resource.Resource, Subresource: rq.info.Subresource,
		Namespace: rq.info.Namespace, Name: rq.info.Name,
		Object:     opts,
		Version:    rq.ep.GroupVersion.Version,
		Kind:       corev1.SchemeGroupVersion.WithKind(kind),
		Namespaced: rq.ep.Namespaced,
	}
	if s.mutating != nil {
		if err := s.mutating.Mutate(ctx, r); err != nil {
			s.fail(rq, err)
			return false
		}
		r.Object = opts
	}
	if s.admission != nil {
		if err := s.admission.Admit(ctx, r); err != nil {
			s.fail(rq, err)
			return false
		}
	}
	return true
}

// connectOptions is the options object of a connect request and its kind
// in core/v1, as upstream's connecters decode them from the query; nil
// for a subresource that is not a connect one. Values that do not parse
// are left at their zero: the stream refuses them after admission.
func connectOptions(resource, subresource string, q url.Values, proxyPath string) (runtime.Object, string) {
	flag := func(name string) bool {
		b, _ := strconv.ParseBool(q.Get(name))
		return b
	}
	var obj runtime.Object
	var kind string
	switch {
	case resource == "pods" && subresource == "exec":
		kind = "PodExecOptions"
		obj = &corev1.PodExecOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: q.Get("container"), Command: q["command"]}
	case resource == "pods" && subresource == "attach":
		kind = "PodAttachOptions"
		obj = &corev1.PodAttachOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: q.Get("container")}
	case resource == "pods" && subresource == "portforward":
		kind = "PodPortForwardOptions"
		o := &corev1.PodPortForwardOptions{}
		for _, p := range q["ports"] {
			for _, one := range strings.Split(p, ",") {
				if n, err := strconv.ParseInt(strings.TrimSpace(one), 10, 32); err == nil {
					o.Ports = append(o.Ports, int32(n))
				}
			}
		}
		obj = o
	case resource == "pods" && subresource == "proxy":
		kind, obj = "PodProxyOptions", &corev1.PodProxyOptions{Path: proxyPath}
	case resource == "services" && subresource == "proxy":
		kind, obj = "ServiceProxyOptions", &corev1.ServiceProxyOptions{Path: proxyPath}
	case resource == "nodes" && subresource == "proxy":
		kind, obj = "NodeProxyOptions", &corev1.NodeProxyOptions{Path: proxyPath}
	default:
		return nil, ""
	}
	obj.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return obj, kind
}
