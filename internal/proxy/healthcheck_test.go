package proxy

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The health-check node port's answer is upstream's: 200 only with a
// local endpoint and a healthy proxy, the body the same either way.
func TestHealthCheckAnswer(t *testing.T) {
	tests := []struct {
		name    string
		local   int
		healthy bool
		code    int
		body    string
	}{
		{"local endpoints", 2, true, 200, `{"localEndpoints":2,"service":{"name":"web","namespace":"default"},"serviceProxyHealthy":true}`},
		{"none on this node", 0, true, 503, `{"localEndpoints":0,"service":{"name":"web","namespace":"default"},"serviceProxyHealthy":true}`},
		{"proxy behind on its syncs", 1, false, 503, `{"localEndpoints":1,"service":{"name":"web","namespace":"default"},"serviceProxyHealthy":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &hcServer{namespace: "default", name: "web", local: tt.local, healthy: func() bool { return tt.healthy }}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if w.Code != tt.code || strings.TrimSpace(w.Body.String()) != tt.body {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tt.code, tt.body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
		})
	}
}
