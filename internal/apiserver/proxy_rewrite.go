package apiserver

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilproxy "k8s.io/apimachinery/pkg/util/proxy"
)

// A web UI served by a pod, a service or a node knows nothing of the
// proxy prefix it is reached under (/api/v1/namespaces/NS/pods/NAME:PORT/proxy):
// its absolute links and redirects would leave the proxy. Upstream's proxy
// subresources rewrite them on the way back; so do ours, with the same
// rewriting transport from k8s.io/apimachinery/pkg/util/proxy.

// proxyRootRedirect answers a GET or HEAD of a bare .../proxy (no path
// after it) with a 301 to .../proxy/, so that the page's relative links
// resolve under the proxy. It reports whether it answered.
func proxyRootRedirect(w http.ResponseWriter, r *http.Request, proxyPath string) bool {
	if proxyPath != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	loc := r.URL.Path + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
	return true
}

// rewritingTransport wraps rt so that what the backend answers comes back
// as through upstream's proxy: absolute links in text/html (gzip and
// deflate bodies decoded and encoded again) and a Location header that
// point to the backend get the request's prefix up to .../proxy, the
// backend is told that prefix in X-Forwarded-Uri, and the backend's CORS
// headers are dropped (the API server's own apply).
func rewritingTransport(r *http.Request, proxyPath string, rt http.RoundTripper) http.RoundTripper {
	return backendAnswers{&utilproxy.Transport{
		Scheme:       r.URL.Scheme,
		Host:         r.URL.Host,
		PathPrepend:  strings.TrimSuffix(r.URL.Path, proxyPath),
		RoundTripper: rt,
	}}
}

// backendAnswers strips CORS headers from the backend's answers and
// makes every failure an API status: one that reaching the backend
// raised already is (503), one of rewriting a body is a 500, as upstream
// reports an error that is not a status.
type backendAnswers struct{ next http.RoundTripper }

func (b backendAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil {
		var st apierrors.APIStatus
		if errors.As(err, &st) {
			return nil, err
		}
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error()}}
	}
	for _, h := range []string{"Access-Control-Allow-Credentials", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin"} {
		resp.Header.Del(h)
	}
	return resp, nil
}

// forwardAsClient makes the outgoing request carry what upstream's
// proxy subresources pass on: the client's Host header (a backend that
// builds absolute links from it gets them rewritten), X-Forwarded-For
// with the client's address appended, and the client's own
// X-Forwarded-Host and X-Forwarded-Proto, if any.
func forwardAsClient(pr *httputil.ProxyRequest) {
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		} else {
			pr.Out.Header.Del(h)
		}
	}
}
