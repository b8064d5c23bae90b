package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// TestKubectlIntoPods is issue 9's user story on a one-machine cluster
// (kemudi server with its node, in a network namespace): the real kubectl
// reads pods' logs, runs commands in them, copies files and forwards
// ports, through the API server's pod subresources and the kubelet's API.
func TestKubectlIntoPods(t *testing.T) {
	t.Parallel()
	n := newServerNode(t, false)
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	if port := n.kubectl("get", "node", "node-1", "-o", "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}"); port != "10250" {
		t.Errorf("daemonEndpoints.kubeletEndpoint.port = %q, want 10250", port)
	}
	image := n.registry.Ref("busybox:1")
	manifest := strings.NewReplacer("IMAGE", image).Replace(podManifests)
	path := filepath.Join(t.TempDir(), "pods.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("apply", "-f", path)
	n.kubectl("wait", "--for=condition=Ready", "pod/web", "pod/multi", "pod/lines", "pod/talker", "--timeout=120s")

	t.Run("logs", func(t *testing.T) { testLogs(t, n) })
	t.Run("exec", func(t *testing.T) { testExec(t, n) })
	t.Run("attach", func(t *testing.T) {
		// The container reads what the attached client sends; its stdin
		// closes when the client's does (stdinOnce), and it ends.
		out, err := n.kubectlEnv(nil, "hi\nthere\n", "attach", "-i", "talker")
		if err != nil || !strings.Contains(out, "got hi\ngot there\nbye\n") {
			t.Errorf("attach -i = %q, %v", out, err)
		}
	})
	t.Run("cp", func(t *testing.T) { testCp(t, n) })
	t.Run("port-forward", func(t *testing.T) { testPortForward(t, n) })
	t.Run("debug", func(t *testing.T) { testDebug(t, n) })
	t.Run("resize", func(t *testing.T) { testResize(t, n) })
	t.Run("proxy", func(t *testing.T) { testProxy(t, n) })
	t.Run("kubelet endpoints", func(t *testing.T) { testKubeletEndpoints(t, n) })
	t.Run("kubelet auth", func(t *testing.T) { testKubeletAuth(t, n) })
	t.Run("leaks", func(t *testing.T) { testLeaks(t, n) })
}

const podManifests = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: web
    image: IMAGE
    ports: [{containerPort: 80, name: http}]
    readinessProbe: {httpGet: {path: /index.html, port: 80}, periodSeconds: 1}
    command: [sh, -c, "mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www"]
---
apiVersion: v1
kind: Pod
metadata: {name: multi}
spec:
  containers:
  - {name: one, image: IMAGE, command: [sh, -c, "echo one-out; exec sleep 3600"]}
  - {name: two, image: IMAGE, command: [sh, -c, "echo two-out; echo two-err >&2; exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: lines}
spec:
  containers:
  - {name: lines, image: IMAGE, command: [sh, -c, "for i in 1 2 3 4 5; do echo line $i; done; exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: later}
spec:
  restartPolicy: Never
  containers:
  - {name: later, image: IMAGE, command: [sh, -c, "echo first; sleep 3; echo second"]}
---
apiVersion: v1
kind: Pod
metadata: {name: restarter}
spec:
  volumes: [{name: state, emptyDir: {}}]
  containers:
  - name: restarter
    image: IMAGE
    volumeMounts: [{name: state, mountPath: /state}]
    command: [sh, -c, "n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; echo attempt-$n; if [ $n -ge 2 ]; then exec sleep 3600; fi; exit 1"]
---
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  restartPolicy: Never
  containers:
  - {name: talker, image: IMAGE, stdin: true, stdinOnce: true, command: [sh, -c, "while read l; do echo got $l; done; echo bye"]}
`

func testLogs(t *testing.T, n *serverNode) {
	want := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	waitLog := func(what string, want string, args ...string) {
		t.Helper()
		eventuallyKubectl(t, n, time.Minute, what, func() (bool, string) {
			out, err := n.tryKubectl(args...)
			return err == nil && out == want, out
		})
	}
	waitLog("logs lines", "line 1\nline 2\nline 3\nline 4\nline 5\n", "logs", "lines")
	want("logs --tail=2", n.kubectl("logs", "lines", "--tail=2"), "line 4\nline 5\n")
	want("logs --limit-bytes=8", n.kubectl("logs", "lines", "--limit-bytes=8"), "line 1\nl")
	stamped := strings.Split(strings.TrimSpace(n.kubectl("logs", "lines", "--timestamps", "--tail=1")), " ")
	if len(stamped) != 3 || stamped[1] != "line" {
		t.Errorf("logs --timestamps --tail=1 = %q, want <time> line 5", stamped)
	} else if _, err := time.Parse(time.RFC3339Nano, stamped[0]); err != nil {
		t.Errorf("logs --timestamps: %v", err)
	}
	want("logs --since=1h", n.kubectl("logs", "lines", "--since=1h", "--tail=1"), "line 5\n")

	// Containers by name; the API's own message when none or a wrong one
	// is named.
	// stdout and stderr come through separate pipes: their lines may be
	// logged in either order, as on upstream's runtimes.
	eventuallyKubectl(t, n, time.Minute, "logs -c two", func() (bool, string) {
		out, err := n.tryKubectl("logs", "multi", "-c", "two")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		slices.Sort(lines)
		return err == nil && strings.HasSuffix(out, "\n") && slices.Equal(lines, []string{"two-err", "two-out"}), out
	})
	want("logs -c one", n.kubectl("logs", "multi", "-c", "one"), "one-out\n")
	all := n.kubectl("logs", "multi", "--all-containers", "--prefix")
	for _, line := range []string{"[pod/multi/one] one-out", "[pod/multi/two] two-out"} {
		if !strings.Contains(all, line) {
			t.Errorf("logs --all-containers --prefix lacks %q:\n%s", line, all)
		}
	}
	out, err := n.tryKubectl("logs", "multi", "-c", "nope")
	if err == nil || !strings.Contains(out, "container nope is not valid for pod multi") {
		t.Errorf("logs -c nope = %q, %v; want the API's invalid-container error", out, err)
	}
	out, err = n.tryKubectl("get", "--raw", "/api/v1/namespaces/default/pods/multi/log")
	if err == nil || !strings.Contains(out, "a container name must be specified for pod multi, choose one of: [one two]") {
		t.Errorf("pods/log without a container = %q, %v; want the API's choose-one error", out, err)
	}
	out, err = n.tryKubectl("get", "--raw", "/api/v1/namespaces/default/pods/lines/log?tailLines=-1")
	if err == nil || !strings.Contains(out, "tailLines") {
		t.Errorf("pods/log?tailLines=-1 = %q, %v; want an invalid tailLines", out, err)
	}
	out, err = n.tryKubectl("logs", "no-such-pod")
	if err == nil || !strings.Contains(out, `pods "no-such-pod" not found`) {
		t.Errorf("logs of a missing pod = %q, %v", out, err)
	}

	// -f gives what the container writes later, and ends when it ends.
	start := time.Now()
	want("logs -f", n.kubectl("logs", "-f", "later", "--pod-running-timeout=60s"), "first\nsecond\n")
	if time.Since(start) > time.Minute {
		t.Errorf("logs -f took %s", time.Since(start))
	}

	// --previous: the instance before the restart.
	eventuallyKubectl(t, n, 2*time.Minute, "restarter restarted and running", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "restarter", "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running.startedAt}")
		return err == nil && strings.HasPrefix(out, "1 ") && len(out) > 2, out
	})
	waitLog("logs restarter", "attempt-2\n", "logs", "restarter")
	want("logs --previous", n.kubectl("logs", "restarter", "--previous"), "attempt-1\n")
	out, err = n.tryKubectl("logs", "lines", "--previous")
	if err == nil || !strings.Contains(out, `previous terminated container "lines" in pod "lines" not found`) {
		t.Errorf("logs --previous of a container never restarted = %q, %v", out, err)
	}
}

func testExec(t *testing.T, n *serverNode) {
	// Both of kubectl's protocols: WebSocket (v5.channel.k8s.io, its
	// default) and SPDY.
	for _, proto := range []struct{ name, env string }{{"websocket", "true"}, {"spdy", "false"}} {
		t.Run(proto.name, func(t *testing.T) {
			env := []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + proto.env}
			out, err := n.kubectlEnv(env, "", "exec", "web", "--", "cat", "/etc/hostname")
			if err != nil || out != "web\n" {
				t.Errorf("exec cat /etc/hostname = %q, %v; want web", out, err)
			}
			out, err = n.kubectlEnv(env, "", "exec", "web", "--", "sh", "-c", "exit 3")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Errorf("exec sh -c 'exit 3': %v (%q), want exit code 3", err, out)
			}
			out, err = n.kubectlEnv(env, "piped\ninput\n", "exec", "-i", "web", "--", "cat")
			if err != nil || out != "piped\ninput\n" {
				t.Errorf("exec -i cat = %q, %v; want the input back", out, err)
			}
			out, err = n.kubectlEnv(env, "", "exec", "multi", "-c", "two", "--", "sh", "-c", "echo to-err >&2")
			if err != nil || out != "to-err\n" {
				t.Errorf("exec's stderr = %q, %v", out, err)
			}
		})
	}
	out, err := n.tryKubectl("exec", "multi", "-c", "nope", "--", "true")
	if err == nil || !strings.Contains(out, "container nope is not valid for pod multi") {
		t.Errorf("exec -c nope = %q, %v", out, err)
	}
	out, err = n.tryKubectl("exec", "web", "--", "no-such-command")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || ee.ExitCode() == 1 && !strings.Contains(out, "no-such-command") {
		t.Errorf("exec of a missing command = %q, %v; want it to fail naming the command", out, err)
	}
	// A user who may read pods but not create pods/exec is refused.
	n.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
	n.kubectl("create", "rolebinding", "alice-reads-pods", "--role=pod-reader", "--user=alice")
	out, err = n.tryKubectl("exec", "--as=alice", "web", "--", "true")
	if err == nil || !strings.Contains(out, `User "alice" cannot create resource "pods/exec"`) {
		t.Errorf("exec as alice = %q, %v; want forbidden on pods/exec", out, err)
	}
}

func testCp(t *testing.T, n *serverNode) {
	dir := t.TempDir()
	n.kubectl("cp", "web:/etc/hostname", filepath.Join(dir, "hostname"))
	if data, err := os.ReadFile(filepath.Join(dir, "hostname")); err != nil || string(data) != "web\n" {
		t.Errorf("cp out: %q, %v; want web", data, err)
	}
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("copied in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("cp", in, "web:/tmp/in.txt")
	if out := n.kubectl("exec", "web", "--", "cat", "/tmp/in.txt"); out != "copied in\n" {
		t.Errorf("cp in: the pod has %q", out)
	}
}

func testPortForward(t *testing.T, n *serverNode) {
	for _, proto := range []struct{ name, env string }{{"websocket", "true"}, {"spdy", "false"}} {
		t.Run(proto.name, func(t *testing.T) {
			port, err := harness.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			// (env sets the protocol for kubectl alone.)
			p := n.startProcess("port-forward", "Forwarding from 127.0.0.1:"+itoa(port),
				"--net="+n.netnsPath, "env", "KUBECTL_PORT_FORWARD_WEBSOCKETS="+proto.env,
				n.bin, "kubectl", "--kubeconfig", n.kubeconfig, "port-forward", "pod/web", itoa(port)+":80")
			t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
			for i := range 3 { // the forward stays usable for more connections
				out, err := n.wget("http://127.0.0.1:" + itoa(port) + "/")
				if err != nil || out != "hello from web\n" {
					t.Errorf("GET %d through port-forward = %q, %v\n%s", i, out, err, p.Tail())
				}
			}
		})
	}
}

func testProxy(t *testing.T, n *serverNode) {
	if out := n.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/web:80/proxy/"); out != "hello from web\n" {
		t.Errorf("pods/web:80/proxy/ = %q", out)
	}
	if out := n.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/web:http/proxy/index.html"); out != "hello from web\n" {
		t.Errorf("pods/web:http/proxy/index.html = %q", out)
	}
	n.kubectl("expose", "pod", "web", "--port=8080", "--target-port=80", "--selector=app.kubernetes.io/name=web-none")
	n.kubectl("label", "pod", "web", "app.kubernetes.io/name=web-none")
	eventuallyKubectl(t, n, time.Minute, "services/web:8080/proxy/", func() (bool, string) {
		out, err := n.tryKubectl("get", "--raw", "/api/v1/namespaces/default/services/web:8080/proxy/")
		return err == nil && out == "hello from web\n", out
	})

	var sum struct {
		Node struct {
			NodeName string
			CPU      struct{ UsageCoreNanoSeconds uint64 }
			Memory   struct{ WorkingSetBytes uint64 }
			Fs       struct{ CapacityBytes uint64 }
		}
		Pods []struct {
			PodRef     struct{ Name, Namespace string }
			Containers []struct {
				Name   string
				Memory struct{ WorkingSetBytes uint64 }
			}
		}
	}
	raw := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/stats/summary")
	if err := json.Unmarshal([]byte(raw), &sum); err != nil {
		t.Fatalf("stats/summary: %v\n%s", err, raw)
	}
	if sum.Node.NodeName != "node-1" || sum.Node.CPU.UsageCoreNanoSeconds == 0 || sum.Node.Memory.WorkingSetBytes == 0 || sum.Node.Fs.CapacityBytes == 0 {
		t.Errorf("stats/summary node = %+v", sum.Node)
	}
	found := false
	for _, p := range sum.Pods {
		if p.PodRef.Name == "web" && p.PodRef.Namespace == "default" && len(p.Containers) == 1 && p.Containers[0].Name == "web" && p.Containers[0].Memory.WorkingSetBytes > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("stats/summary has no stats of pod web with its container:\n%s", raw)
	}
	var pods struct {
		Kind  string
		Items []struct{ Metadata struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/pods")), &pods); err != nil || pods.Kind != "PodList" || len(pods.Items) < 5 {
		t.Errorf("nodes/node-1/proxy/pods: %+v, %v", pods, err)
	}
	// A node whose kubelet cannot be reached: a clear error within
	// seconds, not a hang. (Its address is in the test's namespace, on a
	// link that leads nowhere.)
	ghost := filepath.Join(t.TempDir(), "ghost.yaml")
	if err := os.WriteFile(ghost, []byte("apiVersion: v1\nkind: Node\nmetadata: {name: ghost}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("create", "-f", ghost)
	n.kubectl("patch", "node", "ghost", "--subresource=status", "--type=merge", "-p", `{"status":{"addresses":[{"type":"InternalIP","address":"10.99.0.77"}]}}`)
	start := time.Now()
	out, err := n.tryKubectl("get", "--raw", "/api/v1/nodes/ghost/proxy/healthz")
	if took := time.Since(start); err == nil || !strings.Contains(out, "10.99.0.77") || took > 20*time.Second {
		t.Errorf("nodes/ghost/proxy/healthz = %q, %v after %s; want an error naming the address within seconds", out, err, took)
	}

	metrics := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/metrics/resource")
	for _, m := range []string{`container_memory_working_set_bytes{container="web",namespace="default",pod="web"} `, "node_cpu_usage_seconds_total ", "scrape_error 0"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics/resource lacks %q:\n%s", m, metrics)
		}
	}
	// The prober's counters: the web pod's readiness probe has passed.
	eventually(t, 30*time.Second, "metrics/probes counts the web pod's readiness probe", func() (bool, string) {
		out, _ := n.tryKubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/metrics/probes")
		return regexp.MustCompile(`(?m)^prober_probe_total\{container="web",namespace="default",pod="web",pod_uid="[0-9a-f-]+",probe_type="Readiness",result="successful"\} [1-9][0-9]*$`).MatchString(out), out
	})
	// cAdvisor's series, from the runtime's CRI metrics (or its stats).
	cadvisor := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/metrics/cadvisor")
	for _, re := range []string{
		`(?m)^container_memory_working_set_bytes\{container="web",id="[0-9a-f]+",image="[^"]*",namespace="default",pod="web"\} [1-9][0-9]* [0-9]+$`,
		`(?m)^container_network_receive_bytes_total\{container="",id="[0-9a-f]+",image="",interface="eth0",namespace="default",pod="web"\} [0-9]+ [0-9]+$`,
	} {
		if !regexp.MustCompile(re).MatchString(cadvisor) {
			t.Errorf("metrics/cadvisor has no line matching %s:\n%s", re, cadvisor)
		}
	}
	if out := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/healthz"); out != "ok" {
		t.Errorf("nodes/node-1/proxy/healthz = %q", out)
	}
}

// testKubeletAuth: the kubelet's API refuses anonymous requests (401)
// and asks the API server what an authenticated one may do (403).
func testKubeletAuth(t *testing.T, n *serverNode) {
	if code := anonymousStatus(t, n.netnsPath, serverNodeIP+":10250", "/pods"); code != 401 {
		t.Errorf("anonymous GET /pods on the kubelet: status %d, want 401", code)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubelet.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: kubelet, cluster: {server: "https://`+serverNodeIP+`:10250", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: not-a-token}}]
contexts: [{name: kubelet, context: {cluster: kubelet, user: none}}]
current-context: kubelet
`), 0o600); err != nil {
		t.Fatal(err)
	}
	kubelet := []string{"--kubeconfig", kubeconfig}
	out, err := n.rawKubectl(append(kubelet, "get", "--raw", "/pods")...)
	if err == nil || !strings.Contains(out, "You must be logged in to the server") {
		t.Errorf("GET /pods on the kubelet with a bad token = %q, %v; want 401", out, err)
	}
	token := strings.TrimSpace(n.kubectl("create", "token", "default"))
	out, err = n.rawKubectl(append(kubelet, "--token", token, "get", "--raw", "/pods")...)
	if err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("GET /pods on the kubelet as the default service account = %q, %v; want 403", out, err)
	}
	n.kubectl("create", "clusterrolebinding", "default-kubelet-api", "--clusterrole=system:kubelet-api-admin", "--serviceaccount=default:default")
	eventuallyKubectl(t, n, time.Minute, "the service account reads the kubelet's pods", func() (bool, string) {
		out, err := n.rawKubectl(append(kubelet, "--token", token, "get", "--raw", "/pods")...)
		return err == nil && strings.Contains(out, `"PodList"`), out
	})
}

// kubectlEnv runs kubectl in the node's namespace with extra environment
// and stdin, returning stdout and stderr together.
func (n *serverNode) kubectlEnv(env []string, stdin string, args ...string) (string, error) {
	full := append([]string{"--net=" + n.netnsPath, n.bin, "kubectl", "--kubeconfig", n.kubeconfig}, args...)
	cmd := exec.Command("nsenter", full...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rawKubectl runs kubectl in the node's namespace with only args.
func (n *serverNode) rawKubectl(args ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"--net=" + n.netnsPath, n.bin, "kubectl"}, args...)...).CombinedOutput()
	return string(out), err
}

// wget fetches url from inside the node's namespace.
func (n *serverNode) wget(url string) (string, error) {
	out, err := exec.Command("timeout", "10", "nsenter", "--net="+n.netnsPath, testimages.BusyboxPath, "wget", "-q", "-O", "-", url).CombinedOutput()
	return string(out), err
}

// anonymousStatus is the status of a GET of path on addr over TLS without
// credentials, from inside the network namespace at nsPath: the
// connection is made on a thread in that namespace.
func anonymousStatus(t *testing.T, nsPath, addr, path string) int {
	t.Helper()
	conn, err := dialIn(nsPath, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	if _, err := fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// dialIn connects to addr over TCP from the network namespace at nsPath.
func dialIn(nsPath, addr string) (net.Conn, error) {
	var conn net.Conn
	err := harness.InNetns(nsPath, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
		return err
	})
	if err != nil && conn != nil {
		conn.Close()
		return nil, err
	}
	return conn, err
}

// TestAgentServingCertificateByCSR: a node that does not hold the cluster
// CA (kemudi agent) asks for its serving certificate with a CSR for its own
// name and addresses; the controller manager approves and signs it with no
// admin step, so the API server (which checks kubelets' certificates
// against the cluster CA) reaches the node for logs.
func TestAgentServingCertificateByCSR(t *testing.T) {
	t.Parallel()
	n := newServerNode(t, true)
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	eventuallyKubectl(t, n, time.Minute, "the node's kubelet-serving CSR approved and issued", func() (bool, string) {
		out, err := n.tryKubectl("get", "csr", "-o", `jsonpath={range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.spec.username} {.status.conditions[0].type} {.status.conditions[0].reason} {.status.certificate}{"\n"}{end}`)
		fields := strings.Fields(out)
		return err == nil && len(fields) == 4 && fields[0] == "system:node:node-1" && fields[1] == "Approved" && fields[2] == "AutoApproved", out
	})
	n.kubectl("run", "hello", "--image="+n.registry.Ref("busybox:1"), "--restart=Never", "--", "sh", "-c", "echo hello from the agent; exec sleep 3600")
	n.kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=120s")
	eventuallyKubectl(t, n, time.Minute, "logs through the issued certificate", func() (bool, string) {
		out, err := n.tryKubectl("logs", "hello")
		return err == nil && out == "hello from the agent\n", out
	})
}
