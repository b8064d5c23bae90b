package apiserver_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// webUI is a backend as web UIs are written: absolute links, a redirect
// to an absolute path, a link built from the Host header, gzip when the
// client takes it, and the proxy headers echoed.
func webUI(name string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := fmt.Sprintf(`<html><head><link rel="stylesheet" href="/static/app.css"></head>`+
			`<body><h1>%s</h1><a href="/old">old</a> <a href="http://%s/abs">abs</a> <a href="rel">rel</a></body></html>`, name, r.Host)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			defer zw.Close()
			_, _ = io.WriteString(zw, page)
			return
		}
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("/static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, "h1 { color: teal }")
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "new page of "+name)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"host": r.Host, "uri": r.Header.Get("X-Forwarded-Uri"), "for": r.Header.Get("X-Forwarded-For"),
			"authorization": r.Header.Get("Authorization"), "query": r.URL.RawQuery,
		})
	})
	return mux
}

// TestProxySubresourcesRewrite drives pods/proxy and nodes/proxy (to a
// kubelet serving TLS with the cluster CA's certificate) through the API
// server and through `kubectl proxy`, and checks that a web UI behind
// them works: links, redirects and the trailing slash go through the
// proxy. (services/proxy takes the same path; its endpoints cannot be
// on loopback, which Endpoints validation refuses.)
func TestProxySubresourcesRewrite(t *testing.T) {
	s := clustertest.Start(t)
	pod := httptest.NewServer(webUI("pod"))
	t.Cleanup(pod.Close)
	podPort := pod.Listener.Addr().(*net.TCPAddr).Port
	cert, err := s.PKI.KubeletServingCert("node-1", []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := httptest.NewUnstartedServer(webUI("kubelet"))
	kubelet.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	kubelet.StartTLS()
	t.Cleanup(kubelet.Close)
	kubeletPort := kubelet.Listener.Addr().(*net.TCPAddr).Port
	backends(t, s, podPort, kubeletPort)

	base := strings.TrimSuffix(s.URL, "/")
	podPrefix := fmt.Sprintf("/api/v1/namespaces/default/pods/web:%d/proxy", podPort)
	nodePrefix := "/api/v1/nodes/node-1/proxy"
	client := noRedirects(t, s.Config)
	for _, tc := range []struct {
		name, prefix, who string
	}{
		{"pod", podPrefix, "pod"},
		{"node", nodePrefix, "kubelet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The bare proxy URL: to its trailing slash, query kept.
			resp := get(t, client, base+tc.prefix+"?a=1", nil)
			if resp.code != http.StatusMovedPermanently || resp.header.Get("Location") != tc.prefix+"/?a=1" {
				t.Errorf("GET %s: %d Location %q; want 301 to %s/?a=1", tc.prefix, resp.code, resp.header.Get("Location"), tc.prefix)
			}
			// The page: absolute links get the prefix, relative ones
			// stay, the Host-built one keeps the API server's address.
			apiHost := strings.TrimPrefix(base, "https://")
			for _, enc := range []string{"identity", "gzip"} {
				resp = get(t, client, base+tc.prefix+"/", map[string]string{"Accept-Encoding": enc})
				for _, want := range []string{
					`href="` + tc.prefix + `/static/app.css"`, `href="` + tc.prefix + `/old"`, `href="rel"`,
					`href="http://` + apiHost + tc.prefix + `/abs"`, "<h1>" + tc.who + "</h1>",
				} {
					if resp.code != http.StatusOK || !strings.Contains(resp.body, want) {
						t.Errorf("GET %s/ (Accept-Encoding %q): %d %q; want %s", tc.prefix, enc, resp.code, resp.body, want)
					}
				}
				if enc == "gzip" && resp.header.Get("Content-Encoding") != "gzip" {
					t.Errorf("GET %s/ with gzip: Content-Encoding %q", tc.prefix, resp.header.Get("Content-Encoding"))
				}
			}
			// A redirect of the backend stays behind the proxy.
			resp = get(t, client, base+tc.prefix+"/old", nil)
			if resp.code != http.StatusFound || resp.header.Get("Location") != tc.prefix+"/new" {
				t.Errorf("GET %s/old: %d Location %q; want 302 to %s/new", tc.prefix, resp.code, resp.header.Get("Location"), tc.prefix)
			}
			// What the backend is told: the client's Host, the prefix, the
			// client's address; not the client's credentials; no CORS
			// headers come back.
			resp = get(t, client, base+tc.prefix+"/echo?x=y", nil)
			var echo map[string]string
			if err := json.Unmarshal([]byte(resp.body), &echo); err != nil {
				t.Fatalf("GET %s/echo: %d %q", tc.prefix, resp.code, resp.body)
			}
			if echo["host"] != apiHost || echo["uri"] != tc.prefix+"/echo" || echo["for"] != "127.0.0.1" || echo["authorization"] != "" || echo["query"] != "x=y" {
				t.Errorf("the backend got %v", echo)
			}
			if v := resp.header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("the backend's CORS header came through: %q", v)
			}
		})
	}

	// kubectl proxy forwards to the API server: in a browser's way (it
	// follows redirects), the page, its links and its redirects work.
	proxyURL := kubectlProxy(t, s)
	browser := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct{ path, want string }{
		{podPrefix, `href="` + podPrefix + `/static/app.css"`},
		{podPrefix + "/static/app.css", "h1 { color: teal }"},
		{podPrefix + "/old", "new page of pod"},
		{nodePrefix, "<h1>kubelet</h1>"},
	} {
		resp, err := browser.Get(proxyURL + tc.path)
		if err != nil {
			t.Errorf("kubectl proxy GET %s: %v", tc.path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
			t.Errorf("kubectl proxy GET %s: %d %q; want %q", tc.path, resp.StatusCode, body, tc.want)
		}
	}
}

// backends makes the pod web (IP 127.0.0.1, the pod backend's port) and
// the node node-1 whose kubelet listens on 127.0.0.1:kubeletPort.
func backends(t *testing.T, s *clustertest.Server, podPort, kubeletPort int) {
	t.Helper()
	ctx := context.Background()
	c := s.Client
	p, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(podPort)}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	p.Status.PodIP, p.Status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("pod status: %v", err)
	}
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(kubeletPort)
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node status: %v", err)
	}
}

// noRedirects is an admin client of the API that shows redirects rather
// than following them, and leaves gzip to the caller.
func noRedirects(t *testing.T, cfg *rest.Config) *http.Client {
	t.Helper()
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = 10 * time.Second
	return c
}

type answer struct {
	code   int
	header http.Header
	body   string
}

// get fetches u with header; a gzip body is decoded.
func get(t *testing.T, c *http.Client, u string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: gzip body: %v", u, err)
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return answer{resp.StatusCode, resp.Header, string(data)}
}

// kubectlProxy runs `kubectl proxy` on a free loopback port until the
// test ends and returns its URL.
func kubectlProxy(t *testing.T, s *clustertest.Server) string {
	t.Helper()
	cmd := exec.Command(clustertest.Binary(t), "kubectl", "--kubeconfig", s.Kubeconfig, "proxy", "--port=0", "--address=127.0.0.1")
	cmd.Env = append(os.Environ(), "HOME="+s.DataDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl proxy: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// "Starting to serve on 127.0.0.1:PORT"
			if _, addr, ok := strings.Cut(sc.Text(), "Starting to serve on "); ok {
				found <- addr
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if _, port, err := net.SplitHostPort(addr); !ok || err != nil {
			t.Fatalf("kubectl proxy said %q", addr)
		} else if _, err := strconv.Atoi(port); err != nil {
			t.Fatalf("kubectl proxy port %q", port)
		}
		return (&url.URL{Scheme: "http", Host: addr}).String()
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl proxy did not start within 30s")
	}
	return ""
}
