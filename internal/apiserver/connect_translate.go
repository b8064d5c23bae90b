package apiserver

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"slices"

	corev1 "k8s.io/api/core/v1"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// A WebSocket client (kubectl's default for exec, attach, cp and, since
// 1.31, port-forward; client-go's NewWebSocketExecutor) may reach a node
// whose runtime's streaming server speaks only SPDY (containerd's,
// CRI-O's). As upstream's API server does (registry/core/pod/rest
// subresources.go), such a stream is translated here unless the node
// declares that its kubelet translates it (status.declaredFeatures
// ExtendWebSocketsToKubelet, as an upstream kubelet ≥ 1.36 does): the
// kubelet, and the runtime behind it, then see SPDY only.
//
// The translation is upstream's own helper library,
// k8s.io/apiserver/pkg/util/proxy: StreamTranslatorHandler serves
// v5.channel.k8s.io over WebSocket to the client and speaks SPDY
// (v4/v5.channel.k8s.io) to the kubelet; TunnelingHandler carries the
// client's SPDY port-forward frames (subprotocol
// "SPDY/3.1+portforward.k8s.io") inside WebSocket messages to the
// kubelet's SPDY port-forward. Both are wire protocols with subtle
// framing and close semantics that the clients test against; reusing
// them keeps us byte for byte with upstream.

// featureWebSocketsToKubelet is the node-declared feature by which a
// kubelet says it translates WebSocket streams itself.
const featureWebSocketsToKubelet = "ExtendWebSocketsToKubelet"

// streamRoute is how the API server serves one pods/exec, attach or
// portforward request; its values are upstream's proxy_type labels.
type streamRoute string

const (
	// routeProxy: SPDY, or an older WebSocket protocol; the upgrade
	// goes to the kubelet as it came.
	routeProxy streamRoute = ""
	// routeToKubelet: WebSocket, passed on to a kubelet that
	// translates it itself.
	routeToKubelet streamRoute = "proxied_to_kubelet"
	// routeTranslate: WebSocket, translated here to SPDY for the kubelet.
	routeTranslate streamRoute = "translated_at_apiserver"
)

// chooseStreamRoute decides, as upstream's ExecREST, AttachREST and
// PortForwardREST with their feature gates at 1.37's defaults.
func chooseStreamRoute(subresource string, r *http.Request, nodeFeatures []string) streamRoute {
	var websocket bool
	switch subresource {
	case "exec", "attach":
		websocket = wsstream.IsWebSocketRequestWithStreamCloseProtocol(r)
	case "portforward":
		websocket = wsstream.IsWebSocketRequestWithTunnelingProtocol(r)
	}
	switch {
	case !websocket:
		return routeProxy
	case slices.Contains(nodeFeatures, featureWebSocketsToKubelet):
		return routeToKubelet
	}
	return routeTranslate
}

// servePodUpgrade serves the upgrade of pods/exec, attach or portforward
// to the kubelet stream at target (path and query for the kubelet) on
// node: proxied, or translated from WebSocket to SPDY.
func (s *Server) servePodUpgrade(rq *request, pod *corev1.Pod, node *corev1.Node, target *url.URL) {
	route := routeProxy
	if wsstream.IsWebSocketRequest(rq.r) {
		route = chooseStreamRoute(rq.info.Subresource, rq.r, node.Status.DeclaredFeatures)
	}
	if route != routeProxy {
		s.metrics.streams.WithLabelValues(rq.info.Subresource, string(route)).Inc()
		s.log.Debug("websocket stream", "subresource", rq.info.Subresource, "pod", pod.Namespace+"/"+pod.Name, "route", route)
	}
	switch {
	case route == routeTranslate && rq.info.Subresource == "portforward":
		tunnel := translator.NewTunnelingHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The tunnel's SPDY request, proxied as any upgrade.
			spdy := *rq
			spdy.w, spdy.r = bufferedHijacker{w}, r
			s.proxyTo(&spdy, target, s.kubelet.transport, "error dialing backend")
		}))
		tunnel.ServeHTTP(messageHijacker{rq.w}, rq.r)
	case route == routeTranslate:
		q := target.Query()
		opts := translator.Options{Stdin: q.Get("input") == "1", Stdout: q.Get("output") == "1",
			Stderr: q.Get("error") == "1", Tty: q.Get("tty") == "1"}
		translator.NewStreamTranslatorHandler(target, s.kubelet.transport, 0, opts).ServeHTTP(hijacker{rq.w}, rq.r)
	default:
		s.proxyTo(rq, target, s.kubelet.transport, "error dialing backend")
	}
}

// hijacker gives the WebSocket servers a writer they can hijack by type
// assertion (golang.org/x/net/websocket does): the server's own writers
// reach the connection through Unwrap only.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

func (h hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// bufferedHijacker: the tunnel's writer hijacks to a connection without
// a buffered reader-writer, which httputil.ReverseProxy writes the
// kubelet's 101 response through.
type bufferedHijacker struct{ http.ResponseWriter }

func (h bufferedHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil && rw == nil {
		rw = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	}
	return c, rw, err
}

func (h bufferedHijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
