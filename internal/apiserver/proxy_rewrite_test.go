package apiserver

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// updatingGolden: the package's -update flag (defined by the external
// tests of this binary) also rewrites testdata/proxy/*.golden.
func updatingGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProxyRewriting: what the backend of a proxy subresource answers, as
// the client sees it through the API server; testdata/proxy/NAME.golden.
func TestProxyRewriting(t *testing.T) {
	const pod = "/api/v1/namespaces/default/pods/web:8080/proxy"
	for _, tc := range []struct {
		name       string
		path       string // the client's request path
		proxyPath  string // what follows .../proxy in it
		backend    string // where the request goes
		status     int
		header     map[string]string
		body       string // a file of testdata/proxy
		encode     string // compress the body so
		backendErr error
	}{
		{name: "pod-links", path: pod + "/app/", proxyPath: "/app/", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "text/html"}, body: "links.html"},
		{name: "pod-gzip", path: pod + "/app/index.html", proxyPath: "/app/index.html", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}, body: "small.html", encode: "gzip"},
		{name: "pod-deflate", path: pod + "/", proxyPath: "/", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "text/html", "Content-Encoding": "deflate"}, body: "small.html", encode: "deflate"},
		{name: "pod-unknown-encoding", path: pod + "/", proxyPath: "/", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "text/html", "Content-Encoding": "br"}, body: "small.html"},
		{name: "pod-json", path: pod + "/api/data", proxyPath: "/api/data", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "application/json"}, body: "data.json"},
		{name: "pod-no-content-type", path: pod + "/", proxyPath: "/", backend: "http://10.42.0.7:8080", body: "small.html"},
		{name: "pod-bare-post", path: "/api/v1/namespaces/default/pods/web/proxy", proxyPath: "", backend: "http://10.42.0.7:80",
			header: map[string]string{"Content-Type": "text/html"}, body: "small.html"},
		{name: "redirect-absolute-path", path: pod + "/app/", proxyPath: "/app/", backend: "http://10.42.0.7:8080", status: http.StatusFound,
			header: map[string]string{"Location": "/login?next=%2Fapp%2F"}},
		{name: "redirect-to-backend", path: pod + "/app", proxyPath: "/app", backend: "http://10.42.0.7:8080", status: http.StatusMovedPermanently,
			header: map[string]string{"Location": "http://10.42.0.7:8080/app/", "Content-Type": "text/html"}, body: "small.html"},
		{name: "redirect-to-client-host", path: pod + "/app", proxyPath: "/app", backend: "http://10.42.0.7:8080", status: http.StatusFound,
			header: map[string]string{"Location": "http://127.0.0.1:6443/app/"}},
		{name: "redirect-elsewhere", path: pod + "/app/", proxyPath: "/app/", backend: "http://10.42.0.7:8080", status: http.StatusFound,
			header: map[string]string{"Location": "https://sso.example/auth?from=/app"}},
		{name: "redirect-relative", path: pod + "/app/", proxyPath: "/app/", backend: "http://10.42.0.7:8080", status: http.StatusSeeOther,
			header: map[string]string{"Location": "login"}},
		{name: "created-location", path: pod + "/items", proxyPath: "/items", backend: "http://10.42.0.7:8080", status: http.StatusCreated,
			header: map[string]string{"Location": "/items/7"}},
		{name: "redirect-bad-location", path: pod + "/app/", proxyPath: "/app/", backend: "http://10.42.0.7:8080", status: http.StatusFound,
			header: map[string]string{"Location": "http://[::1"}},
		{name: "cors-dropped", path: pod + "/", proxyPath: "/", backend: "http://10.42.0.7:8080",
			header: map[string]string{"Content-Type": "text/plain", "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Headers": "X-Token", "Access-Control-Expose-Headers": "X-Kept", "X-Kept": "yes"}},
		{name: "service-page", path: "/api/v1/namespaces/shop/services/https:web:443/proxy/", proxyPath: "/", backend: "https://10.42.1.9:8443",
			header: map[string]string{"Content-Type": "text/html"}, body: "small.html"},
		{name: "node-kubelet-page", path: "/api/v1/nodes/node-1/proxy/logs/", proxyPath: "/logs/", backend: "https://10.0.0.2:10250",
			header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, body: "small.html"},
		{name: "backend-unreachable", path: pod + "/", proxyPath: "/", backend: "http://10.42.0.7:8080",
			backendErr: errors.New("dial tcp 10.42.0.7:8080: connect: connection refused")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.proxyPath == "" {
				method = http.MethodPost
			}
			in := httptest.NewRequest(method, tc.path, nil)
			in.Host = "127.0.0.1:6443"
			var seen http.Header
			backend := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				seen = r.Header.Clone()
				if tc.backendErr != nil {
					return nil, tc.backendErr
				}
				return backendResponse(t, r, tc.status, tc.header, tc.body, tc.encode), nil
			})
			target, err := url.Parse(tc.backend)
			if err != nil {
				t.Fatal(err)
			}
			target.Path, target.RawQuery = tc.proxyPath, in.URL.RawQuery
			out := in.Clone(in.Context())
			out.URL, out.RequestURI = target, ""
			resp, err := rewritingTransport(in, tc.proxyPath, backend).RoundTrip(out)
			got := describeAnswer(t, seen, resp, err)
			golden := filepath.Join("testdata", "proxy", tc.name+".golden")
			if updatingGolden() {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("answer differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// backendResponse is a backend's answer: body read from testdata/proxy
// and compressed as encode says.
func backendResponse(t *testing.T, r *http.Request, status int, header map[string]string, body, encode string) *http.Response {
	t.Helper()
	if status == 0 {
		status = http.StatusOK
	}
	var raw []byte
	if body != "" {
		var err error
		if raw, err = os.ReadFile(filepath.Join("testdata", "proxy", body)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	switch encode {
	case "gzip":
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		raw = buf.Bytes()
	case "deflate":
		fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
		_, _ = fw.Write(raw)
		_ = fw.Close()
		raw = buf.Bytes()
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(raw)),
		ContentLength: int64(len(raw)), Request: r}
	for k, v := range header {
		resp.Header.Set(k, v)
	}
	return resp
}

// describeAnswer is the golden text: the X-Forwarded headers the backend
// was sent, then the status, headers and (decoded) body the client gets,
// or the error status it gets instead.
func describeAnswer(t *testing.T, seen http.Header, resp *http.Response, err error) string {
	t.Helper()
	var b strings.Builder
	for _, h := range []string{"X-Forwarded-Uri", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := seen.Get(h); v != "" {
			fmt.Fprintf(&b, "backend got %s: %s\n", h, v)
		}
	}
	if err != nil {
		st := statusFor(err, schema.GroupResource{}, "")
		fmt.Fprintf(&b, "error %d %s: %s\n", st.ErrStatus.Code, st.ErrStatus.Reason, st.ErrStatus.Message)
		return b.String()
	}
	defer resp.Body.Close()
	fmt.Fprintf(&b, "status %d\n", resp.StatusCode)
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(resp.Header[k], ", "))
	}
	var body io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("the rewritten body is not gzip: %v", err)
		}
		body = zr
	case "deflate":
		body = flate.NewReader(resp.Body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read the rewritten body: %v", err)
	}
	fmt.Fprintf(&b, "\n%s", data)
	return b.String()
}

func TestProxyRootRedirect(t *testing.T) {
	for _, tc := range []struct {
		method, target, proxyPath string
		wantLocation              string // "" if not redirected
	}{
		{"GET", "/api/v1/namespaces/default/pods/web:80/proxy", "", "/api/v1/namespaces/default/pods/web:80/proxy/"},
		{"HEAD", "/api/v1/nodes/n1/proxy?a=1&b=2", "", "/api/v1/nodes/n1/proxy/?a=1&b=2"},
		{"GET", "/api/v1/namespaces/default/services/web/proxy/", "/", ""},
		{"POST", "/api/v1/namespaces/default/services/web/proxy", "", ""},
		{"GET", "/api/v1/namespaces/default/pods/web/proxy/index.html", "/index.html", ""},
	} {
		w := httptest.NewRecorder()
		answered := proxyRootRedirect(w, httptest.NewRequest(tc.method, tc.target, nil), tc.proxyPath)
		if answered != (tc.wantLocation != "") || answered && (w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != tc.wantLocation) {
			t.Errorf("%s %s: answered %v, %d Location %q; want Location %q", tc.method, tc.target, answered, w.Code, w.Header().Get("Location"), tc.wantLocation)
		}
	}
}
