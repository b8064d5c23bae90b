package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// serveConnect serves the subresources that reach into a node: pods/log,
// pods/exec, pods/attach, pods/portforward, and the proxies (pods, services
// and nodes). They are answered by the kubelet (or the pod) the API server
// connects to, as upstream's "connect" subresources.
func (s *Server) serveConnect(rq *request) {
	gr := rq.ep.groupResource()
	switch {
	case gr == schemaGR("", "pods") && rq.info.Subresource == "log":
		if rq.info.Verb != "get" {
			s.writeError(rq.w, rq.out, methodNotSupported(gr, rq.r.Method))
			return
		}
		s.servePodLog(rq)
	case gr == schemaGR("", "pods") && (rq.info.Subresource == "exec" || rq.info.Subresource == "attach" || rq.info.Subresource == "portforward"):
		if rq.r.Method != http.MethodGet && rq.r.Method != http.MethodPost {
			s.writeError(rq.w, rq.out, methodNotSupported(gr, rq.r.Method))
			return
		}
		if !s.authorizeUpgrade(rq) || !s.admitConnect(rq) {
			return
		}
		s.servePodStream(rq)
	case rq.info.Subresource == "proxy" && (gr == schemaGR("", "pods") || gr == schemaGR("", "services") || gr == schemaGR("", "nodes")):
		if !s.admitConnect(rq) {
			return
		}
		s.serveProxy(rq)
	default:
		s.writeError(rq.w, rq.out, notFoundPath(rq.r.URL.Path))
	}
}

// authorizeUpgrade: a stream opened with GET (WebSocket) needs create
// on the subresource too, as a POST (SPDY) does; upstream checks the same
// since 1.31 so that "get pods/exec" alone never runs a command.
func (s *Server) authorizeUpgrade(rq *request) bool {
	if rq.info.Verb != "get" {
		return true
	}
	a := attributesFor(rq.r, rq.user, &rq.info)
	a.Verb = "create"
	return s.authorize(rq.w, rq.r, a)
}

// pod reads the request's pod.
func (s *Server) connectPod(rq *request) (*corev1.Pod, error) {
	obj, err := s.store.Get(rq.ctx(), rq.ep.key(rq.info.Namespace, rq.info.Name), "")
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

// podContainer is the container a request names, or the pod's only
// container, with upstream's messages when neither works.
func podContainer(pod *corev1.Pod, container string) (string, error) {
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, containerNames(pod.Spec.Containers))
		if len(pod.Spec.InitContainers) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
		}
		if len(pod.Spec.EphemeralContainers) > 0 {
			names := make([]string, len(pod.Spec.EphemeralContainers))
			for i, c := range pod.Spec.EphemeralContainers {
				names[i] = c.Name
			}
			msg += fmt.Sprintf(" or one of the ephemeral containers: [%s]", strings.Join(names, " "))
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == container {
				return container, nil
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == container {
			return container, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// podLogQuery reads and validates pods/log's options (upstream's
// PodLogOptions and their validation) and returns the query the kubelet
// is sent.
func podLogQuery(q url.Values, podName string) (container string, out url.Values, err error) {
	out = url.Values{}
	var errs field.ErrorList
	for _, name := range []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return "", nil, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q: %v", name, v, perr))
		}
		if b && name != "insecureSkipTLSVerifyBackend" {
			out.Set(name, "true")
		}
	}
	ints := map[string]int64{}
	for _, name := range []string{"sinceSeconds", "tailLines", "limitBytes"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return "", nil, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q: %v", name, v, perr))
		}
		ints[name] = n
		out.Set(name, v)
	}
	if v := q.Get("sinceTime"); v != "" {
		if _, perr := time.Parse(time.RFC3339, v); perr != nil {
			return "", nil, apierrors.NewBadRequest(fmt.Sprintf("sinceTime: invalid value %q: %v", v, perr))
		}
		out.Set("sinceTime", v)
		if _, ok := ints["sinceSeconds"]; ok {
			errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
		}
	}
	if n, ok := ints["tailLines"]; ok && n < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), n, "must be greater than or equal to 0"))
	}
	if n, ok := ints["limitBytes"]; ok && n < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), n, "must be greater than 0"))
	}
	if n, ok := ints["sinceSeconds"]; ok && n < 1 {
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), n, "must be greater than 0"))
	}
	if v := q.Get("stream"); v != "" && v != "All" && v != "Stdout" && v != "Stderr" {
		errs = append(errs, field.NotSupported(field.NewPath("stream"), v, []string{"All", "Stdout", "Stderr"}))
	}
	if len(errs) > 0 {
		return "", nil, apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, podName, errs)
	}
	return q.Get("container"), out, nil
}

// servePodLog serves pods/log: the kubelet's /containerLogs, streamed.
func (s *Server) servePodLog(rq *request) {
	container, query, err := podLogQuery(rq.r.URL.Query(), rq.info.Name)
	if err != nil {
		s.fail(rq, err)
		return
	}
	pod, err := s.connectPod(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	if container, err = podContainer(pod, container); err != nil {
		s.fail(rq, err)
		return
	}
	if pod.Spec.NodeName == "" {
		// Upstream answers an empty log for a pod not scheduled yet.
		rq.w.Header().Set("Content-Type", "text/plain")
		rq.w.WriteHeader(http.StatusOK)
		return
	}
	base, err := s.kubeletURL(rq.ctx(), pod.Spec.NodeName)
	if err != nil {
		s.fail(rq, err)
		return
	}
	base.Path = path.Join("/containerLogs", pod.Namespace, pod.Name, container)
	base.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(rq.ctx(), http.MethodGet, base.String(), nil)
	if err != nil {
		s.fail(rq, err)
		return
	}
	resp, err := s.kubelet.transport.RoundTrip(req)
	if err != nil {
		s.fail(rq, apierrors.NewInternalError(fmt.Errorf("error reaching the kubelet of node %s: %w", pod.Spec.NodeName, err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		s.fail(rq, kubeletError(resp, rq.ep.groupResource(), rq.info.Name))
		return
	}
	rq.w.Header().Set("Content-Type", "text/plain")
	rq.w.WriteHeader(http.StatusOK)
	copyFlushing(rq.w, resp.Body, query.Get("follow") == "true")
}

// kubeletError turns a kubelet's error answer into the API's, as
// upstream's response checker does.
func kubeletError(resp *http.Response, gr schema.GroupResource, name string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(fmt.Errorf("%s", msg))
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(msg)
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, "", gr, name, msg, 0, false)
}

// copyFlushing copies a log to the client, flushing after every read when
// it is followed so that lines arrive as they are written.
func copyFlushing(w http.ResponseWriter, r io.Reader, follow bool) {
	if !follow {
		_, _ = io.Copy(w, r)
		return
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// servePodStream serves pods/exec, pods/attach and pods/portforward: the
// upgraded connection is proxied to the kubelet of the pod's node, which
// proxies it to its runtime.
func (s *Server) servePodStream(rq *request) {
	pod, err := s.connectPod(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	q := rq.r.URL.Query()
	kq := url.Values{}
	var kubeletPath string
	switch rq.info.Subresource {
	case "exec", "attach":
		container, err := podContainer(pod, q.Get("container"))
		if err != nil {
			s.fail(rq, err)
			return
		}
		streams := false
		for _, p := range [][2]string{{"stdin", "input"}, {"stdout", "output"}, {"stderr", "error"}, {"tty", "tty"}} {
			v := q.Get(p[0])
			if v == "" {
				continue
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q", p[0], v)))
				return
			}
			if b {
				kq.Set(p[1], "1")
				streams = streams || p[0] != "tty"
			}
		}
		if !streams {
			s.fail(rq, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr"))
			return
		}
		if rq.info.Subresource == "exec" {
			if len(q["command"]) == 0 {
				s.fail(rq, apierrors.NewBadRequest("you must specify a command"))
				return
			}
			kq["command"] = q["command"]
		}
		kubeletPath = path.Join("/"+rq.info.Subresource, pod.Namespace, pod.Name, container)
	case "portforward":
		for _, p := range q["ports"] {
			for _, one := range strings.Split(p, ",") {
				n, err := strconv.ParseUint(strings.TrimSpace(one), 10, 16)
				if err != nil || n == 0 {
					s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("invalid port %q: must be between 1 and 65535", one)))
					return
				}
				kq.Add("port", strconv.Itoa(int(n)))
			}
		}
		kubeletPath = path.Join("/portForward", pod.Namespace, pod.Name)
	}
	if pod.Spec.NodeName == "" {
		s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	node, err := s.kubeletNode(rq.ctx(), pod.Spec.NodeName)
	if err != nil {
		s.fail(rq, err)
		return
	}
	target, err := kubeletNodeURL(node)
	if err != nil {
		s.fail(rq, err)
		return
	}
	target.Path, target.RawQuery = kubeletPath, kq.Encode()
	s.servePodUpgrade(rq, pod, node, target)
}

// proxyTo proxies the request (an upgrade included) to target, whose
// path and query replace the request's. The client's credentials are not
// passed on: the backend sees the API server's identity.
func (s *Server) proxyTo(rq *request, target *url.URL, transport http.RoundTripper, failure string) {
	s.reverseProxy(rq, target, transport, failure).ServeHTTP(rq.w, rq.r)
}

// reverseProxy is proxyTo's proxy, for callers that adjust it.
func (s *Server) reverseProxy(rq *request, target *url.URL, transport http.RoundTripper, failure string) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			pr.Out.Header.Del("Authorization")
			for k := range pr.Out.Header {
				if strings.HasPrefix(k, "Impersonate-") {
					pr.Out.Header.Del(k)
				}
			}
		},
		// Streams and proxied event streams go out as they come.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			var st apierrors.APIStatus
			if !errors.As(err, &st) {
				err = apierrors.NewServiceUnavailable(fmt.Sprintf("%s: %v", failure, err))
			}
			s.writeError(w, rq.out, err)
		},
	}
}
