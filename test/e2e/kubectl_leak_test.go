package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"

	"github.com/kemudi/kemudi/bench/harness"
)

// leakSessions is how many exec and port-forward sessions testLeaks
// opens and drops (issue 9: 200 of each).
const leakSessions = 200

// testLeaks: exec and port-forward sessions that clients drop mid-stream
// leave the node's process (API server, kubelet and runtime are one
// process under kemudi server) with the goroutines and file descriptors
// it had before them, once the streams wound down.
func testLeaks(t *testing.T, n *serverNode) {
	cfg := n.restConfig(t)
	counts := func() (int, int, error) {
		g, err := n.goroutines()
		if err != nil {
			return 0, 0, err
		}
		fds, err := os.ReadDir("/proc/" + strconv.Itoa(n.proc.PID) + "/fd")
		return g, len(fds), err
	}
	// Warm up (the API server's connections to the kubelet, the
	// runtime's stream server), then take the baseline.
	for range 3 {
		dropExec(t, cfg, "v5.channel.k8s.io")
		dropPortForward(t, cfg)
	}
	baseG, baseFD := settled(t, counts)
	t.Logf("before: %d goroutines, %d fds", baseG, baseFD)
	for i := range leakSessions {
		proto := "v5.channel.k8s.io"
		if i%2 == 1 {
			proto = "spdy"
		}
		dropExec(t, cfg, proto)
		dropPortForward(t, cfg)
	}
	// Some slack for the process's own timers and watches, far below
	// one goroutine or fd per session.
	const slackG, slackFD = 30, 10
	var g, fd int
	eventuallyKubectl(t, n, 2*time.Minute, "goroutines and fds back where they started", func() (bool, string) {
		var err error
		g, fd, err = counts()
		return err == nil && g <= baseG+slackG && fd <= baseFD+slackFD, fmt.Sprintf("%d goroutines (before %d), %d fds (before %d), %v", g, baseG, fd, baseFD, err)
	})
	t.Logf("after %d exec and %d port-forward sessions dropped: %d goroutines, %d fds", leakSessions, leakSessions, g, fd)
}

// settled reads the counts until two readings a second apart agree
// (within a few goroutines), or for at most a minute.
func settled(t *testing.T, counts func() (int, int, error)) (int, int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	g, fd, err := counts()
	for {
		if err != nil {
			t.Fatal(err)
		}
		<-time.After(time.Second)
		g2, fd2, err2 := counts()
		if err2 == nil && g2-g <= 2 && g-g2 <= 2 && fd2 == fd || time.Now().After(deadline) {
			return max(g, g2), max(fd, fd2)
		}
		g, fd, err = g2, fd2, err2
	}
}

// goroutines is the server process's goroutine count from its pprof.
func (n *serverNode) goroutines() (int, error) {
	out, err := n.tryKubectl("get", "--raw", "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, fmt.Errorf("goroutine profile: %v: %s", err, out)
	}
	first, _, _ := strings.Cut(out, "\n")
	total, ok := strings.CutPrefix(first, "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutine profile: %q", first)
	}
	return strconv.Atoi(strings.TrimSpace(total))
}

// restConfig is the admin's client config, reaching the API server in
// the node's namespace through a relay on the test's loopback (client-go's
// WebSocket executor dials for itself, not through rest.Config.Dial).
func (n *serverNode) restConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	harness.RelayConfig(t, cfg, func(_ context.Context, _, addr string) (net.Conn, error) { return dialIn(n.netnsPath, addr) })
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

// signalWriter closes ch on its first write.
type signalWriter struct{ ch chan struct{} }

func (w *signalWriter) Write(p []byte) (int, error) {
	select {
	case <-w.ch:
	default:
		close(w.ch)
	}
	return len(p), nil
}

// dropExec runs a shell in pod web that waits on its stdin, and drops
// the connection once the shell has answered.
func dropExec(t *testing.T, cfg *rest.Config, proto string) {
	t.Helper()
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/api/v1/namespaces/default/pods/web/exec"
	u.RawQuery = url.Values{"command": {"sh", "-c", "echo ready; exec cat"}, "stdin": {"true"}, "stdout": {"true"}, "container": {"web"}}.Encode()
	var ex remotecommand.Executor
	if proto == "spdy" {
		ex, err = remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	} else {
		ex, err = remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdin, hold := io.Pipe()
	defer hold.Close()
	answered := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: answered}) }()
	select {
	case <-answered.ch:
	case err := <-done:
		t.Fatalf("exec (%s) ended before it answered: %v", proto, err)
	}
	cancel() // the client vanishes mid-stream
	<-done
}

// dropPortForward forwards a local port to pod web's port 80, fetches
// one page through it, and drops the forward.
func dropPortForward(t *testing.T, cfg *rest.Config) {
	t.Helper()
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/api/v1/namespaces/default/pods/web/portforward"
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	// The local end is the test's own loopback.
	addr, stop := forwardPort80(t, dialer)
	defer stop()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET through port-forward: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "hello from web\n" {
		t.Fatalf("GET through port-forward = %q, %v", b, err)
	}
}
