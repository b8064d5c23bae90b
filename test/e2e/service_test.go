package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestServiceTraffic is the services issue's user story on `kemudi server`
// with its own node: a Deployment of three HTTP pods exposed as a
// NodePort Service carries traffic from the node to its cluster IP,
// balanced over the pods, and from another machine (a network namespace
// of the test's, wired to the node) to the node's port; a pod finds the
// Service by name through cluster DNS at 10.43.0.10, served by the node's
// own DNS server behind kube-system/kube-dns.
func TestServiceTraffic(t *testing.T) {
	n := newServerNode(t, false)
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})

	// kube-dns exists as upstream's, and its endpoint is the node's server.
	svc := n.kubectl("get", "svc", "-n", "kube-system", "kube-dns", "-o",
		`jsonpath={.spec.clusterIP} {range .spec.ports[*]}{.name}:{.port}/{.protocol} {end}{.metadata.labels.k8s-app}`)
	if want := "10.43.0.10 dns:53/UDP dns-tcp:53/TCP metrics:9153/TCP kube-dns"; svc != want {
		t.Errorf("kube-dns service = %q, want %q", svc, want)
	}
	eventuallyKubectl(t, n, time.Minute, "kube-dns endpoints on node-1", func() (bool, string) {
		out, err := n.tryKubectl("get", "endpointslices", "-n", "kube-system", "-l", "kubernetes.io/service-name=kube-dns", "-o",
			`jsonpath={range .items[*]}{range .endpoints[*]}{.nodeName}={.addresses[0]} {end}{end}`)
		return err == nil && strings.TrimSpace(out) == "node-1="+serverNodeIP, out
	})
	if out := n.kubectl("get", "endpointslices", "-n", "kube-system"); !strings.Contains(out, "kube-dns-node-1") || !strings.Contains(out, serverNodeIP) {
		t.Errorf("kubectl get endpointslices -n kube-system:\n%s", out)
	}

	image := n.registry.Ref("busybox:1")
	n.kubectl("create", "deployment", "web", "--image="+image, "--replicas=3", "--port=8080", "--",
		"sh", "-c", "echo hello from $(hostname) > /tmp/index.html && exec httpd -f -p 8080 -h /tmp")
	n.kubectl("rollout", "status", "deployment/web", "--timeout=120s")
	pods := n.webPods()
	if len(pods) != 3 {
		t.Fatalf("pods = %+v, want 3", pods)
	}
	n.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=NodePort")
	clusterIP := n.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
	nodePort := n.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].nodePort}")
	if !strings.HasPrefix(clusterIP, "10.43.") || nodePort == "" {
		t.Fatalf("service web: cluster IP %q node port %q", clusterIP, nodePort)
	}

	// From the node: the cluster IP reaches every pod.
	n.waitAllPodsAnswer(pods, "from the node to the cluster IP", n.netnsPath, "http://"+clusterIP+"/")

	// From outside the node: a client namespace with its own address,
	// routed to the node's address through a link of its own.
	client := newClientNetns(t, n.netnsName)
	n.waitAllPodsAnswer(pods, "from outside to the node port", client, "http://"+serverNodeIP+":"+nodePort+"/")
	// Every node address serves the port, also the one on the client's link.
	if out, err := nsWget(client, "http://"+clientLinkNodeIP+":"+nodePort+"/"); err != nil || !strings.Contains(out, "hello from web-") {
		t.Errorf("GET node port on %s from outside = %q, %v", clientLinkNodeIP, out, err)
	}

	// From the node, DNS through the service address.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+n.netnsPath, testimages.BusyboxPath,
		"nslookup", "web.default.svc.cluster.local", "10.43.0.10").CombinedOutput()
	cancel()
	if err != nil || !strings.Contains(string(out), clusterIP) {
		t.Errorf("nslookup web.default.svc.cluster.local 10.43.0.10 on the node = %v:\n%s", err, out)
	}

	// A pod resolves the service by its full name and, through the
	// search path, by its short one. (It prints to its log: read from the
	// node's pod log directory.)
	n.kubectl("run", "dnsclient", "--image="+image, "--restart=Never", "--",
		"sh", "-c", "cat /etc/resolv.conf; echo ---; nslookup web.default.svc.cluster.local; echo ---; wget -qO- http://web/; echo ---")
	eventuallyKubectl(t, n, 2*time.Minute, "dnsclient finished", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "dnsclient", "-o", "jsonpath={.status.phase}")
		return err == nil && (out == "Succeeded" || out == "Failed"), out
	})
	logs := n.podLog(t, "default", "dnsclient", "dnsclient")
	parts := strings.Split(logs, "---\n")
	if len(parts) < 4 {
		t.Fatalf("dnsclient log:\n%s", logs)
	}
	resolv, lookup, get := parts[0], parts[1], parts[2]
	for _, want := range []string{"nameserver 10.43.0.10", "search default.svc.cluster.local svc.cluster.local cluster.local", "options ndots:5"} {
		if !strings.Contains(resolv, want) {
			t.Errorf("pod resolv.conf lacks %q:\n%s", want, resolv)
		}
	}
	if !strings.Contains(lookup, "web.default.svc.cluster.local") || !strings.Contains(lookup, clusterIP) {
		t.Errorf("nslookup web.default.svc.cluster.local in a pod, want %s:\n%s", clusterIP, lookup)
	}
	if !strings.Contains(get, "hello from web-") {
		t.Errorf("wget http://web/ in a pod:\n%s", get)
	}

	// The node's proxy and DNS ran without failing (a refused watch or
	// write would show as a restart).
	sum := n.proc.Logs()
	t.Logf("server log: %d warnings, %d errors %q", sum.Warnings, sum.Errors, sum.Samples)
	for _, l := range sum.Samples {
		if strings.Contains(l, "component=proxy") || strings.Contains(l, "component=dns") || strings.Contains(l, "dns:") {
			t.Errorf("server log: %s", l)
		}
	}
}

// waitAllPodsAnswer GETs url from inside netns until every pod answered
// (the proxy spreads connections at random).
func (n *serverNode) waitAllPodsAnswer(pods []podView, what, netnsPath, url string) {
	n.t.Helper()
	seen := map[string]int{}
	eventuallyKubectl(n.t, n, time.Minute, what+" reaches every pod", func() (bool, string) {
		out, err := nsWget(netnsPath, url)
		if err != nil {
			return false, err.Error() + ": " + out
		}
		seen[strings.TrimPrefix(strings.TrimSpace(out), "hello from ")]++
		for _, p := range pods {
			if seen[p.name] == 0 {
				return false, "answered: " + fmtSeen(seen)
			}
		}
		return true, ""
	})
	n.t.Logf("%s: %s", what, fmtSeen(seen))
}

func fmtSeen(seen map[string]int) string {
	var out []string
	for k, v := range seen {
		out = append(out, k+"×"+itoa(v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// nsWget is busybox wget inside a network namespace. (Debian's static
// busybox crashes on wget -T: the context bounds it.)
func nsWget(netnsPath, url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+netnsPath, testimages.BusyboxPath, "wget", "-q", "-O", "-", url).CombinedOutput()
	return string(out), err
}

// The link between the node and the client namespace.
const (
	clientLinkNodeIP = "10.98.0.1"
	clientIP         = "10.98.0.2"
)

// newClientNetns makes a network namespace for a machine outside the
// node, linked to the node's namespace by a veth pair, with a route to
// the node's address; it returns its path.
func newClientNetns(t *testing.T, nodeNetns string) string {
	t.Helper()
	name := "kemudi-e2e-cli-" + randHex(4)
	path := "/var/run/netns/" + name
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { run(t, "ip", "netns", "del", name) })
	nsRun(t, path, "ip", "link", "set", "lo", "up")
	nsRun(t, path, "ip", "link", "add", "cli0", "type", "veth", "peer", "name", "ext0", "netns", nodeNetns)
	nsRun(t, path, "ip", "addr", "add", clientIP+"/24", "dev", "cli0")
	nsRun(t, path, "ip", "link", "set", "cli0", "up")
	nsRun(t, path, "ip", "route", "add", serverNodeIP+"/32", "via", clientLinkNodeIP)
	node := "/var/run/netns/" + nodeNetns
	nsRun(t, node, "ip", "addr", "add", clientLinkNodeIP+"/24", "dev", "ext0")
	nsRun(t, node, "ip", "link", "set", "ext0", "up")
	return path
}

// podLog is a container's log as the kubelet wrote it under the node's
// pod log directory (CRI format: time, stream, tag, then the line).
func (n *serverNode) podLog(t *testing.T, namespace, pod, container string) string {
	t.Helper()
	logDir := filepath.Join(filepath.Dir(n.dataDir), "pods")
	files, _ := filepath.Glob(filepath.Join(logDir, namespace+"_"+pod+"_*", container, "*.log"))
	if len(files) == 0 {
		t.Fatalf("no log of %s/%s/%s under %s", namespace, pod, container, logDir)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.SplitN(line, " ", 4)
		if len(f) == 4 {
			out.WriteString(f[3])
			if f[2] == "F" {
				out.WriteString("\n")
			}
		}
	}
	return out.String()
}
