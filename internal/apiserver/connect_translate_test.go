package apiserver

import (
	"net/http"
	"testing"
)

// TestStreamRoute: which pods/exec, attach and portforward upgrades the
// API server translates from WebSocket to SPDY, as upstream 1.37 does.
func TestStreamRoute(t *testing.T) {
	kubeletTranslates := []string{"SomeOtherFeature", featureWebSocketsToKubelet}
	for _, c := range []struct {
		name, subresource string
		upgrade, protocol string // Upgrade and Sec-WebSocket-Protocol
		features          []string
		want              streamRoute
	}{
		{"spdy exec", "exec", "SPDY/3.1", "", nil, routeProxy},
		{"spdy port-forward", "portforward", "SPDY/3.1", "", nil, routeProxy},
		{"websocket v5 exec", "exec", "websocket", "v5.channel.k8s.io", nil, routeTranslate},
		{"websocket v5 among older ones", "attach", "websocket", "v4.channel.k8s.io, v5.channel.k8s.io", nil, routeTranslate},
		{"websocket v4 only: no close signal, passed as is", "exec", "websocket", "v4.channel.k8s.io", nil, routeProxy},
		{"websocket v5, kubelet translates", "exec", "websocket", "v5.channel.k8s.io", kubeletTranslates, routeToKubelet},
		{"tunneled port-forward", "portforward", "websocket", "SPDY/3.1+portforward.k8s.io", nil, routeTranslate},
		{"tunneled port-forward, kubelet tunnels", "portforward", "websocket", "SPDY/3.1+portforward.k8s.io", kubeletTranslates, routeToKubelet},
		{"plain websocket port-forward (v4.channel)", "portforward", "websocket", "v4.channel.k8s.io", nil, routeProxy},
		{"exec protocol on port-forward", "portforward", "websocket", "v5.channel.k8s.io", nil, routeProxy},
		{"tunneling protocol on exec", "exec", "websocket", "SPDY/3.1+portforward.k8s.io", nil, routeProxy},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "https://api/api/v1/namespaces/d/pods/p/"+c.subresource, nil)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", c.upgrade)
			if c.protocol != "" {
				r.Header.Set("Sec-WebSocket-Protocol", c.protocol)
			}
			if got := chooseStreamRoute(c.subresource, r, c.features); got != c.want {
				t.Errorf("route %q, want %q", got, c.want)
			}
		})
	}
}
