package webhook_test

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// webhookServer is an HTTPS admission webhook on loopback with a
// throwaway CA (httptest's certificate for 127.0.0.1), answering by path.
type webhookServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]*admissionv1.AdmissionRequest
}

// answer decides a webhook's response to one request.
type answer func(w http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

func startWebhookServer(t testing.TB, routes map[string]answer) *webhookServer {
	t.Helper()
	return startWebhookServerTLS(t, routes, nil)
}

// startWebhookServerTLS is startWebhookServer with a TLS configuration of
// the test's own (nil: httptest's certificate).
func startWebhookServerTLS(t testing.TB, routes map[string]answer, tlsConfig *tls.Config) *webhookServer {
	t.Helper()
	ws := &webhookServer{requests: map[string][]*admissionv1.AdmissionRequest{}}
	mux := http.NewServeMux()
	for path, a := range routes {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			var review admissionv1.AdmissionReview
			if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
				http.Error(w, "bad review", http.StatusBadRequest)
				return
			}
			ws.mu.Lock()
			ws.requests[path] = append(ws.requests[path], review.Request)
			ws.mu.Unlock()
			resp := a(w, review.Request)
			if resp == nil {
				return // the answer wrote its own (garbage) body
			}
			resp.UID = review.Request.UID
			review.Request, review.Response = nil, resp
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(&review)
		})
	}
	ws.Server = httptest.NewUnstartedServer(mux)
	ws.EnableHTTP2 = true
	ws.TLS = tlsConfig
	ws.StartTLS()
	t.Cleanup(ws.Close)
	return ws
}

// caBundle is the PEM of the server's certificate, its own CA.
func (ws *webhookServer) caBundle() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ws.Certificate().Raw})
}

func (ws *webhookServer) seen(path string) []*admissionv1.AdmissionRequest {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]*admissionv1.AdmissionRequest(nil), ws.requests[path]...)
}

func allow(http.ResponseWriter, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: true}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
