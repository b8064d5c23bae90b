package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// TestWebSocketStreams: WebSocket clients (client-go's WebSocket executor
// and port-forward tunneling dialer, kubectl with its defaults) reach pods
// on a node whose runtime's streaming server speaks only SPDY
// (containerd's) as well as on kemudi's runtime: the API server
// translates, as upstream's does, and kubectl never falls back to SPDY.
func TestWebSocketStreams(t *testing.T) {
	for _, rt := range []string{"containerd", "kemudi"} {
		t.Run(rt, func(t *testing.T) {
			n := startRuntimeServer(t, rt)
			n.applyPods(t)
			t.Run("exec", func(t *testing.T) { testWebSocketExec(t, n) })
			t.Run("attach", func(t *testing.T) { testWebSocketAttach(t, n) })
			t.Run("port-forward", func(t *testing.T) { testWebSocketPortForward(t, n) })
			t.Run("kubectl", func(t *testing.T) { testKubectlWebSockets(t, n) })
			t.Run("errors", func(t *testing.T) { testWebSocketErrors(t, n) })
		})
	}
}

// wsNode is `kemudi server` whose kubelet runs on a runtime started by
// kubelettest (containerd, or `kemudi runtime`), all in the runtime's
// network namespace.
type wsNode struct {
	bin, kubeconfig string
	rt              *kubelettest.Runtime
	proc            *harness.Process
	cfg             *rest.Config // through a relay on the test's loopback
}

func startRuntimeServer(t *testing.T, runtime string) *wsNode {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a node needs root")
	}
	bin := kemudiWithSupervisor(t)
	var rt *kubelettest.Runtime
	if runtime == "containerd" {
		rt = kubelettest.StartContainerd(t)
	} else {
		rt = kubelettest.StartKemudi(t, bin)
	}
	n := &wsNode{bin: bin, rt: rt}
	srv := harness.StartRuntimeServer(t, bin, rt, harness.NodeDiskFlags()...)
	n.proc, n.kubeconfig, n.cfg = srv.Process, srv.Kubeconfig, srv.Config
	return n
}

// kubectl runs `kemudi kubectl args...` in the namespace, with env added.
func (n *wsNode) kubectl(env []string, stdin string, args ...string) (stdout, stderr string, err error) {
	full := append([]string{"--net=" + n.rt.NetNS, n.bin, "kubectl", "--kubeconfig", n.kubeconfig}, args...)
	cmd := exec.Command("nsenter", full...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (n *wsNode) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := n.kubectl(nil, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v: %s%s\nserver (tail):\n%s", strings.Join(args, " "), err, out, errOut, n.proc.Tail())
	}
	return out
}

// bigMiB is the size of the file moved through port-forward.
const bigMiB = 9

const wsPods = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: IMAGE
    command: [sh, -c, "mkdir -p /www && head -c BIG /dev/urandom > /www/big && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www"]
    readinessProbe: {httpGet: {path: /index.html, port: 80}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - {name: talker, image: IMAGE, stdin: true, stdinOnce: true, command: [sh, -c, "while read l; do echo got $l; done; echo bye"]}
`

func (n *wsNode) applyPods(t *testing.T) {
	t.Helper()
	manifest := strings.NewReplacer("IMAGE", n.rt.Images["busybox"], "BIG", strconv.Itoa(bigMiB<<20)).Replace(wsPods)
	path := filepath.Join(t.TempDir(), "pods.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for { // the default service account comes with the namespace's controller
		out, _, err := n.kubectl(nil, "", "get", "serviceaccount", "default", "-o", "name")
		if err == nil && strings.TrimSpace(out) == "serviceaccount/default" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default service account: %s %v", out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	n.mustKubectl(t, "apply", "-f", path)
	n.mustKubectl(t, "wait", "--for=condition=Ready", "pod/web", "pod/talker", "--timeout=180s")
}

// streamURL is the URL of a pod's exec or attach subresource.
func (n *wsNode) streamURL(pod, sub string, q url.Values) string {
	u, _ := url.Parse(n.cfg.Host)
	u.Path = "/api/v1/namespaces/default/pods/" + pod + "/" + sub
	u.RawQuery = q.Encode()
	return u.String()
}

// wsStream runs one WebSocket (v5.channel.k8s.io) exec or attach.
func wsStream(cfg *rest.Config, u string, opts remotecommand.StreamOptions) error {
	ex, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return ex.StreamWithContext(ctx, opts)
}

// sizes hands the executor one terminal size, then ends.
type sizes struct {
	ch chan remotecommand.TerminalSize
}

func (s sizes) Next() *remotecommand.TerminalSize {
	sz, ok := <-s.ch
	if !ok {
		return nil
	}
	return &sz
}

func testWebSocketExec(t *testing.T, n *wsNode) {
	before := n.streamCount(t, "exec")
	t.Run("stdin stdout stderr", func(t *testing.T) {
		u := n.streamURL("web", "exec", url.Values{"command": {"sh", "-c", "cat; echo to-err >&2"},
			"stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}})
		var stdout, stderr bytes.Buffer
		err := wsStream(n.cfg, u, remotecommand.StreamOptions{Stdin: strings.NewReader("piped\ninput\n"), Stdout: &stdout, Stderr: &stderr})
		if err != nil || stdout.String() != "piped\ninput\n" || stderr.String() != "to-err\n" {
			t.Errorf("exec: stdout %q stderr %q, %v", stdout.String(), stderr.String(), err)
		}
	})
	t.Run("tty resize", func(t *testing.T) {
		// The shell waits (with a deadline) until its terminal has the
		// size the client sent.
		script := `for i in $(seq 100); do s=$(stty size); [ "$s" = "45 123" ] && echo "size $s" && exit 0; sleep 0.1; done; echo "size $(stty size)"; exit 1`
		u := n.streamURL("web", "exec", url.Values{"command": {"sh", "-c", script}, "stdin": {"true"}, "stdout": {"true"}, "tty": {"true"}})
		q := sizes{ch: make(chan remotecommand.TerminalSize, 1)}
		q.ch <- remotecommand.TerminalSize{Width: 123, Height: 45}
		defer close(q.ch)
		stdin, hold := io.Pipe()
		defer hold.Close()
		var stdout bytes.Buffer
		err := wsStream(n.cfg, u, remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Tty: true, TerminalSizeQueue: q})
		if err != nil || !strings.Contains(stdout.String(), "size 45 123") {
			t.Errorf("tty exec: %q, %v; want the terminal resized to 45 rows, 123 columns", stdout.String(), err)
		}
	})
	t.Run("exit code", func(t *testing.T) {
		u := n.streamURL("web", "exec", url.Values{"command": {"sh", "-c", "exit 3"}, "stdout": {"true"}, "stderr": {"true"}})
		err := wsStream(n.cfg, u, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
		var ce utilexec.CodeExitError
		if !errors.As(err, &ce) || ce.Code != 3 {
			t.Errorf("exec sh -c 'exit 3': %v (%T), want exit code 3", err, err)
		}
	})
	if after := n.streamCount(t, "exec"); after < before+3 {
		t.Errorf("translated WebSocket execs: %v before, %v after; want 3 more", before, after)
	}
}

func testWebSocketAttach(t *testing.T, n *wsNode) {
	u := n.streamURL("talker", "attach", url.Values{"container": {"talker"}, "stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}})
	var stdout bytes.Buffer
	err := wsStream(n.cfg, u, remotecommand.StreamOptions{Stdin: strings.NewReader("hi\nthere\n"), Stdout: &stdout, Stderr: io.Discard})
	if err != nil || stdout.String() != "got hi\ngot there\nbye\n" {
		t.Errorf("attach: %q, %v; want the container's answers", stdout.String(), err)
	}
}

// testWebSocketPortForward moves the pod's big file through client-go's
// port-forward over the WebSocket tunnel (v2.portforward.k8s.io).
func testWebSocketPortForward(t *testing.T, n *wsNode) {
	before := n.streamCount(t, "portforward")
	want := strings.Fields(n.mustKubectl(t, "exec", "web", "--", "sha256sum", "/www/big"))[0]
	u, _ := url.Parse(n.streamURL("web", "portforward", nil))
	dialer, err := portforward.NewSPDYOverWebsocketDialer(u, n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := forwardPort80(t, dialer)
	defer stop()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	for i := range 2 { // the forward stays usable for another connection
		resp, err := c.Get("http://" + addr + "/big")
		if err != nil {
			t.Fatalf("GET %d through the port-forward: %v", i, err)
		}
		h := sha256.New()
		got, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if sum := hex.EncodeToString(h.Sum(nil)); err != nil || got != bigMiB<<20 || sum != want {
			t.Errorf("GET %d: %d bytes sha256 %s, %v; want %d bytes sha256 %s", i, got, sum, err, bigMiB<<20, want)
		}
	}
	if after := n.streamCount(t, "portforward"); after < before+1 {
		t.Errorf("translated WebSocket port-forwards: %v before, %v after", before, after)
	}
}

// testKubectlWebSockets: kubectl with its defaults (WebSocket for exec
// and port-forward) is served over WebSocket, never falling back to SPDY
// (kubectl -v=4 logs each fallback).
func testKubectlWebSockets(t *testing.T, n *wsNode) {
	noFallback := func(t *testing.T, log string) {
		t.Helper()
		if strings.Contains(strings.ToLower(log), "fallback") {
			t.Errorf("kubectl fell back to SPDY:\n%s", log)
		}
	}
	t.Run("exec", func(t *testing.T) {
		before := n.streamCount(t, "exec")
		out, log, err := n.kubectl(nil, "", "exec", "-v=4", "web", "--", "cat", "/etc/hostname")
		if err != nil || out != "web\n" {
			t.Errorf("kubectl exec = %q, %v\n%s", out, err, log)
		}
		noFallback(t, log)
		_, log, err = n.kubectl(nil, "", "exec", "-v=4", "web", "--", "sh", "-c", "exit 3")
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("kubectl exec sh -c 'exit 3': %v, want exit code 3\n%s", err, log)
		}
		noFallback(t, log)
		out, log, err = n.kubectl(nil, "copied\n", "exec", "-i", "-v=4", "web", "--", "sh", "-c", "cat > /tmp/in && cat /tmp/in")
		if err != nil || out != "copied\n" {
			t.Errorf("kubectl exec -i = %q, %v\n%s", out, err, log)
		}
		noFallback(t, log)
		if after := n.streamCount(t, "exec"); after < before+3 {
			t.Errorf("translated WebSocket execs: %v before, %v after; want kubectl's 3", before, after)
		}
	})
	t.Run("port-forward", func(t *testing.T) {
		before := n.streamCount(t, "portforward")
		port, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		p, err := harness.StartProcess("port-forward", "nsenter", "Forwarding from 127.0.0.1:"+itoa(port), nil,
			"--net="+n.rt.NetNS, n.bin, "kubectl", "--kubeconfig", n.kubeconfig, "-v=4", "port-forward", "pod/web", itoa(port)+":80")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.Stop(10 * time.Second) }()
		if err := p.WaitReady(time.Minute); err != nil {
			t.Fatalf("kubectl port-forward: %v\n%s", err, p.Tail())
		}
		client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: n.rt.Dial, DisableKeepAlives: true}}
		resp, err := client.Get("http://127.0.0.1:" + itoa(port) + "/index.html")
		if err != nil {
			t.Fatalf("GET through kubectl port-forward: %v\n%s", err, p.Tail())
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "hello from web\n" {
			t.Errorf("GET through kubectl port-forward = %q, %v", b, err)
		}
		noFallback(t, p.Tail())
		if after := n.streamCount(t, "portforward"); after < before+1 {
			t.Errorf("translated WebSocket port-forwards: %v before, %v after", before, after)
		}
	})
}

// testWebSocketErrors: bad requests fail before the upgrade with
// upstream's statuses and messages.
func testWebSocketErrors(t *testing.T, n *wsNode) {
	n.mustKubectl(t, "create", "role", "exec-getter", "--verb=get,list", "--resource=pods,pods/exec")
	n.mustKubectl(t, "create", "rolebinding", "bob-gets-exec", "--role=exec-getter", "--user=bob")
	as := func(user string) *rest.Config {
		c := rest.CopyConfig(n.cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: user}
		return c
	}
	// The status comes back as the cause of client-go's upgrade failure
	// (which is what makes kubectl retry with SPDY, as against upstream).
	run := func(cfg *rest.Config, pod string, q url.Values) error {
		err := wsStream(cfg, n.streamURL(pod, "exec", q), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
		var uf *httpstream.UpgradeFailureError
		if errors.As(err, &uf) {
			return uf.Cause
		}
		return err
	}
	cmd := url.Values{"command": {"true"}, "stdout": {"true"}, "stderr": {"true"}}
	withContainer := url.Values{"command": {"true"}, "stdout": {"true"}, "container": {"nope"}}
	for _, c := range []struct {
		name string
		err  error
		is   func(error) bool
		msg  string
	}{
		{"no such container", run(n.cfg, "web", withContainer), apierrors.IsBadRequest, "container nope is not valid for pod web"},
		{"no such pod", run(n.cfg, "nope", cmd), apierrors.IsNotFound, `pods "nope" not found`},
		{"no pods/exec at all", run(as("alice"), "web", cmd), apierrors.IsForbidden, `User "alice" cannot get resource "pods/exec" in API group "" in the namespace "default"`},
		{"get but not create pods/exec", run(as("bob"), "web", cmd), apierrors.IsForbidden, `User "bob" cannot create resource "pods/exec" in API group "" in the namespace "default"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !c.is(c.err) || !strings.Contains(c.err.Error(), c.msg) {
				t.Errorf("error %v (%T), want %q", c.err, c.err, c.msg)
			}
		})
	}
}

var streamMetric = regexp.MustCompile(`(?m)^apiserver_websocket_streaming_requests_total\{proxy_type="translated_at_apiserver",subresource="([a-z]+)"\} ([0-9.e+]+)$`)

// streamCount is how many WebSocket streams of the subresource the API
// server translated, from its /metrics.
func (n *wsNode) streamCount(t *testing.T, sub string) float64 {
	t.Helper()
	out := n.mustKubectl(t, "get", "--raw", "/metrics")
	for _, m := range streamMetric.FindAllStringSubmatch(out, -1) {
		if m[1] == sub {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}
