package kubelettest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// ManifestServer serves static pods to a kubelet's --manifest-url, on
// loopback (httptest listens on 127.0.0.1): the status and body the test
// sets, and the headers of every request kept for the test to read.
type ManifestServer struct {
	*httptest.Server
	// authorization, when set, is the Authorization header a request
	// must carry; others get 401.
	authorization string

	mu      sync.Mutex
	status  int
	body    string
	headers []http.Header
}

// NewManifestServer serves body with 200 until Serve changes them;
// authorization ("" for none) is the Authorization header it requires.
// It is closed when the test ends.
func NewManifestServer(t testing.TB, authorization, body string) *ManifestServer {
	m := &ManifestServer{authorization: authorization, status: http.StatusOK, body: body}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.headers = append(m.headers, r.Header.Clone())
		if m.authorization != "" && r.Header.Get("Authorization") != m.authorization {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(m.status)
		_, _ = w.Write([]byte(m.body))
	}))
	t.Cleanup(m.Close)
	return m
}

// Serve answers later requests with status and body.
func (m *ManifestServer) Serve(status int, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.body = status, body
}

// Headers are the headers of the requests so far, in order.
func (m *ManifestServer) Headers() []http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.headers)
}
