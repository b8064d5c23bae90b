package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
)

// fakeRuntime answers the CRI calls the handlers make from fixed
// sandboxes and containers; ExecSync answers with exec.
type fakeRuntime struct {
	runtimeapi.RuntimeServiceClient // nil: other calls panic
	sandboxes                       []*runtimeapi.PodSandbox
	containers                      []*runtimeapi.Container
	exec                            func(*runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error)

	mu    sync.Mutex
	execs [][]string
}

func (f *fakeRuntime) ListPodSandbox(_ context.Context, r *runtimeapi.ListPodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	var out []*runtimeapi.PodSandbox
	for _, sb := range f.sandboxes {
		if st := r.GetFilter().GetState(); st != nil && st.State != sb.State {
			continue
		}
		if !labelsMatch(sb.Labels, r.GetFilter().GetLabelSelector()) {
			continue
		}
		out = append(out, sb)
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest, _ ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	var out []*runtimeapi.Container
	for _, c := range f.containers {
		if st := r.GetFilter().GetState(); st != nil && st.State != c.State {
			continue
		}
		if !labelsMatch(c.Labels, r.GetFilter().GetLabelSelector()) {
			continue
		}
		out = append(out, c)
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *fakeRuntime) ExecSync(_ context.Context, r *runtimeapi.ExecSyncRequest, _ ...grpc.CallOption) (*runtimeapi.ExecSyncResponse, error) {
	f.mu.Lock()
	f.execs = append(f.execs, r.Cmd)
	f.mu.Unlock()
	return f.exec(r)
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func podLabels(uid, container string) map[string]string {
	l := map[string]string{"io.kubernetes.pod.uid": uid}
	if container != "" {
		l["io.kubernetes.container.name"] = container
	}
	return l
}

// newTestServer is a server over rt with the pods given as the node's,
// and logDir as its node log directory.
func newTestServer(t *testing.T, rt runtimeapi.RuntimeServiceClient, m *metrics.Metrics, logDir string, pods ...*corev1.Pod) *Server {
	t.Helper()
	s, err := New(Config{
		NodeName: "node-1", Runtime: rt, Client: fake.NewClientset(),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("none") },
		Metrics:        m, NodeLogDir: logDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range pods {
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	s.pods = corelisters.NewPodLister(idx)
	return s
}

// do serves one request through the routes (authorization is tested
// apart) and returns the status and body.
func do(t *testing.T, s *Server, method, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestServeRun(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	rt := &fakeRuntime{
		containers: []*runtimeapi.Container{{Id: "c1", State: runtimeapi.ContainerState_CONTAINER_RUNNING,
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Labels: podLabels("u1", "app")}},
		exec: func(r *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
			switch r.Cmd[0] {
			case "false":
				return &runtimeapi.ExecSyncResponse{ExitCode: 1, Stderr: []byte("oops")}, nil
			case "gone":
				return nil, errors.New("rpc error: code = NotFound desc = container c1 not found")
			}
			return &runtimeapi.ExecSyncResponse{Stdout: []byte("out\n"), Stderr: []byte("err\n")}, nil
		},
	}
	s := newTestServer(t, rt, nil, t.TempDir(), pod)
	for _, tc := range []struct {
		name, method, target string
		code                 int
		body                 string
		cmd                  string
	}{
		{name: "output, stdout then stderr", method: "POST", target: "/run/default/web/app?cmd=echo+a+b", code: 200, body: "out\nerr\n", cmd: "echo|a|b"},
		{name: "with the pod's uid", method: "POST", target: "/run/default/web/u1/app?cmd=ls", code: 200, body: "out\nerr\n", cmd: "ls"},
		{name: "unknown pod", method: "POST", target: "/run/default/nope/app?cmd=ls", code: 404, body: "pod does not exist\n"},
		{name: "unknown container", method: "POST", target: "/run/default/web/db?cmd=ls", code: 500, body: "container not found (\"db\")\n"},
		{name: "another uid", method: "POST", target: "/run/default/web/u2/app?cmd=ls", code: 500, body: "container not found (\"app\")\n"},
		{name: "non-zero exit", method: "POST", target: "/run/default/web/app?cmd=false", code: 500, body: "command 'false' exited with 1: oops\n", cmd: "false"},
		{name: "runtime error", method: "POST", target: "/run/default/web/app?cmd=gone", code: 500, body: "rpc error: code = NotFound desc = container c1 not found\n", cmd: "gone"},
		{name: "GET is not allowed", method: "GET", target: "/run/default/web/app?cmd=ls", code: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt.mu.Lock()
			rt.execs = nil
			rt.mu.Unlock()
			code, body := do(t, s, tc.method, tc.target)
			if code != tc.code || tc.body != "" && body != tc.body {
				t.Fatalf("%s %s = %d %q, want %d %q", tc.method, tc.target, code, body, tc.code, tc.body)
			}
			rt.mu.Lock()
			defer rt.mu.Unlock()
			var ran []string
			for _, c := range rt.execs {
				ran = append(ran, strings.Join(c, "|"))
			}
			if got := strings.Join(ran, ","); got != tc.cmd {
				t.Errorf("ran %q, want %q", got, tc.cmd)
			}
		})
	}
}

func TestServeNodeLogs(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "syslog"), "boot ok\n")
	write(filepath.Join(dir, "pods", "a.log"), "pod log\n")
	write(filepath.Join(outside, "secret"), "do not serve\n")
	for old, link := range map[string]string{
		filepath.Join(outside, "secret"): "escape",
		"syslog":                         "inside",
		outside:                          "outdir",
	} {
		if err := os.Symlink(old, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestServer(t, &fakeRuntime{}, nil, dir)
	for _, tc := range []struct {
		name, method, target string
		code                 int
		has, hasNot          string
	}{
		{name: "listing", method: "GET", target: "/logs/", code: 200, has: `<a href="syslog">syslog</a>`},
		{name: "listing names subdirectories", method: "GET", target: "/logs/", code: 200, has: `<a href="pods/">pods/</a>`},
		{name: "a file", method: "GET", target: "/logs/syslog", code: 200, has: "boot ok\n"},
		{name: "a file in a subdirectory", method: "GET", target: "/logs/pods/a.log", code: 200, has: "pod log\n"},
		{name: "a subdirectory without its slash", method: "GET", target: "/logs/pods", code: 301},
		{name: "a symlink inside", method: "GET", target: "/logs/inside", code: 200, has: "boot ok\n"},
		{name: "a symlink out", method: "GET", target: "/logs/escape", code: 403, hasNot: "do not serve"},
		{name: "a directory symlink out", method: "GET", target: "/logs/outdir/secret", code: 403, hasNot: "do not serve"},
		{name: "dot-dot", method: "GET", target: "/logs/pods/../../" + filepath.Base(outside) + "/secret", code: 307, hasNot: "do not serve"},
		{name: "missing", method: "GET", target: "/logs/nope", code: 404},
		{name: "query is off: the listing", method: "GET", target: "/logs/?query=kubelet", code: 200, has: `<a href="syslog">syslog</a>`},
		{name: "no slash: nothing", method: "GET", target: "/logs", code: 404},
		{name: "read only", method: "POST", target: "/logs/syslog", code: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, s, tc.method, tc.target)
			if code != tc.code || !strings.Contains(body, tc.has) || tc.hasNot != "" && strings.Contains(body, tc.hasNot) {
				t.Fatalf("%s %s = %d %q; want %d with %q, without %q", tc.method, tc.target, code, body, tc.code, tc.has, tc.hasNot)
			}
		})
	}
}

// TestServeNodeLogsNoDir: a node without the directory lists nothing.
func TestServeNodeLogsNoDir(t *testing.T) {
	s := newTestServer(t, &fakeRuntime{}, nil, filepath.Join(t.TempDir(), "none"))
	if code, _ := do(t, s, "GET", "/logs/"); code != 404 {
		t.Fatalf("GET /logs/ = %d, want 404", code)
	}
}

func TestServeMetrics(t *testing.T) {
	ready, notReady := runtimeapi.PodSandboxState_SANDBOX_READY, runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	sb := func(id, uid string, st runtimeapi.PodSandboxState) *runtimeapi.PodSandbox {
		return &runtimeapi.PodSandbox{Id: id, State: st, Metadata: &runtimeapi.PodSandboxMetadata{Uid: uid}, Labels: podLabels(uid, "")}
	}
	ct := func(id, uid string, st runtimeapi.ContainerState) *runtimeapi.Container {
		return &runtimeapi.Container{Id: id, State: st, Labels: podLabels(uid, "c")}
	}
	rt := &fakeRuntime{
		sandboxes: []*runtimeapi.PodSandbox{sb("s1", "u1", ready), sb("s2", "u2", ready), sb("s0", "u2", notReady), sb("s3", "u3", notReady)},
		containers: []*runtimeapi.Container{
			ct("c1", "u1", runtimeapi.ContainerState_CONTAINER_RUNNING), ct("c2", "u2", runtimeapi.ContainerState_CONTAINER_RUNNING),
			ct("c3", "u2", runtimeapi.ContainerState_CONTAINER_EXITED), ct("c4", "u3", runtimeapi.ContainerState_CONTAINER_CREATED),
			// Not a pod's: not counted.
			{Id: "x", State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		},
	}
	m := metrics.New("node-1")
	m.PodStarted()
	m.ContainerStarted(metrics.ContainerTypeInit)
	s := newTestServer(t, rt, m, t.TempDir())
	// Counted before authentication: this one is refused (no credentials).
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/exec/default/web/app", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unauthenticated request = %d, want 401", rec.Code)
	}
	code, body := do(t, s, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d %s", code, body)
	}
	for _, want := range []string{
		"kubelet_node_name{node=\"node-1\"} 1\n",
		"kubelet_running_pods 2\n",
		"kubelet_running_containers{container_state=\"running\"} 2\n",
		"kubelet_running_containers{container_state=\"exited\"} 1\n",
		"kubelet_running_containers{container_state=\"created\"} 1\n",
		"kubelet_started_pods_total 1\n",
		"kubelet_started_containers_total{container_type=\"init_container\"} 1\n",
		"kubelet_http_requests_total{long_running=\"true\",method=\"GET\",path=\"exec\",server_type=\"readwrite\"} 1\n",
		"# TYPE kubelet_pod_start_duration_seconds histogram\n",
		"process_start_time_seconds ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricLabels(t *testing.T) {
	for _, tc := range []struct {
		method, path         string
		wantMethod, wantPath string
		long                 bool
	}{
		{"GET", "/metrics", "GET", "metrics", false},
		{"GET", "/metrics/cadvisor", "GET", "metrics/cadvisor", false},
		{"GET", "/metrics/nope", "GET", "other", false},
		{"POST", "/exec/ns/pod/c", "POST", "exec", true},
		{"GET", "/attach/ns/pod/c", "GET", "attach", true},
		{"POST", "/portForward/ns/pod", "POST", "portForward", false},
		{"GET", "/stats/summary", "GET", "stats", false},
		{"GET", "/logs/syslog", "GET", "logs", false},
		{"PROPFIND", "/configz", "other", "other", false},
	} {
		m, p, long := metricLabels(tc.method, tc.path)
		if m != tc.wantMethod || p != tc.wantPath || long != tc.long {
			t.Errorf("metricLabels(%s, %s) = %s, %s, %v; want %s, %s, %v", tc.method, tc.path, m, p, long, tc.wantMethod, tc.wantPath, tc.long)
		}
	}
}
