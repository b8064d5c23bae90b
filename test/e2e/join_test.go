package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// joinCluster is `kemudi server --disable-agent` in one network namespace
// and a second machine, another namespace joined to it by a veth pair,
// where `kemudi agent --server ... --token-file ...` runs.
type joinCluster struct {
	t                  *testing.T
	bin, tmp           string
	server             *serverNode
	agentNS, agentPath string
	url, tokenFile     string
}

const joinNodeIP = "10.99.0.2"

func newJoinCluster(t *testing.T, serverArgs ...string) *joinCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a node needs root")
	}
	c := &joinCluster{t: t, bin: kemudiWithSupervisor(t), tmp: t.TempDir()}
	// The server's machine: eth0 10.99.0.1, one end of the link to the agent's.
	s := &serverNode{t: t, bin: c.bin}
	s.dataDir = filepath.Join(c.tmp, "server")
	s.kubeconfig = filepath.Join(s.dataDir, "admin.kubeconfig")
	s.netnsName = "kemudi-e2e-" + randHex(4)
	s.netnsPath = "/var/run/netns/" + s.netnsName
	c.agentNS = "kemudi-e2e-" + randHex(4)
	c.agentPath = "/var/run/netns/" + c.agentNS
	run(t, "ip", "netns", "add", s.netnsName)
	t.Cleanup(func() { run(t, "ip", "netns", "del", s.netnsName) })
	run(t, "ip", "netns", "add", c.agentNS)
	t.Cleanup(func() { run(t, "ip", "netns", "del", c.agentNS) })
	cgroupRoot := "/" + c.agentNS
	t.Cleanup(func() { removeCgroupTree(t, cgroupRoot) })
	t.Cleanup(func() { unmountUnder(t, c.tmp) })
	t.Cleanup(func() { killWithArg(c.tmp) })
	// The pair is made inside the server's namespace and one end moved:
	// nothing touches the host's interfaces.
	nsRun(t, s.netnsPath, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
	nsRun(t, s.netnsPath, "ip", "link", "set", "eth1", "netns", c.agentPath)
	for _, side := range []struct{ ns, dev, ip string }{{s.netnsPath, "eth0", serverNodeIP}, {c.agentPath, "eth1", joinNodeIP}} {
		nsRun(t, side.ns, "ip", "link", "set", "lo", "up")
		nsRun(t, side.ns, "ip", "addr", "add", side.ip+"/24", "dev", side.dev)
		nsRun(t, side.ns, "ip", "link", "set", side.dev, "up")
	}
	nsRun(t, c.agentPath, "ip", "route", "add", "default", "via", serverNodeIP)

	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--net=" + s.netnsPath, c.bin, "server", "--disable-agent",
		"--data-dir", s.dataDir, "--https-listen-port", itoa(port), "--bind-address", "0.0.0.0", "--advertise-address", serverNodeIP}, serverArgs...)
	s.proc = s.startProcess("server", "API server ready", args...)
	c.server = s
	c.url = "https://" + serverNodeIP + ":" + itoa(port)
	// The token file goes to the other machine as a user would copy it.
	data, err := os.ReadFile(filepath.Join(s.dataDir, "node-token"))
	if err != nil {
		t.Fatalf("the server wrote no node-token: %v", err)
	}
	c.tokenFile = filepath.Join(c.tmp, "node-token")
	if err := os.WriteFile(c.tokenFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// agentArgs are `kemudi agent` joining as node-2 with token file tf.
func (c *joinCluster) agentArgs(tf string) []string {
	a := filepath.Join(c.tmp, "agent")
	return append([]string{"--net=" + c.agentPath, c.bin, "agent", "--server", c.url, "--token-file", tf,
		"--node-name", "node-2", "--node-ip", joinNodeIP, "--data-dir", a,
		"--cri-socket", filepath.Join(a, "cri.sock"), "--runtime-state-dir", filepath.Join(a, "state"),
		"--pod-log-dir", filepath.Join(a, "pods"), "--cgroup-root", "/" + c.agentNS}, harness.NodeDiskFlags()...)
}

// refused runs the agent with token file content and returns its output;
// it must fail within a minute.
func (c *joinCluster) refused(content string) string {
	c.t.Helper()
	tf := filepath.Join(c.tmp, "bad-token")
	if err := os.WriteFile(tf, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", c.agentArgs(tf)...).CombinedOutput()
	if err == nil || ctx.Err() != nil {
		c.t.Fatalf("agent with token %q: %v (want a refusal)\n%s", content, err, out)
	}
	return string(out)
}

// TestAgentJoinsByToken is issue 8's joining story: a second machine joins
// with the server's node-token, gets its client certificate through a CSR
// the controller manager approves and signs, registers Ready as node-2
// with the identity system:node:node-2, and reuses its certificate after a
// restart; a wrong token or CA hash is refused with a message that says
// which.
func TestAgentJoinsByToken(t *testing.T) {
	t.Parallel()
	c := newJoinCluster(t)
	good, err := os.ReadFile(c.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	hash, tok, _ := strings.Cut(strings.TrimSpace(string(good)), "::")
	id, _, _ := strings.Cut(tok, ".")

	// Bad tokens first: nothing is joined by them.
	out := c.refused(hash + "::" + id + "." + strings.Repeat("0", 16))
	if !strings.Contains(out, "the server refused the join token") || !strings.Contains(out, "401") {
		t.Errorf("wrong token secret:\n%s", out)
	}
	out = c.refused("K10" + strings.Repeat("ab", 32) + "::" + tok)
	if !strings.Contains(out, "does not match the CA hash in the join token") {
		t.Errorf("wrong CA hash:\n%s", out)
	}
	out = c.refused("not a token")
	if !strings.Contains(out, "K10<CA hash>::<id>.<secret>") {
		t.Errorf("malformed token:\n%s", out)
	}

	agent := c.server.startProcess("agent", "kubelet running", c.agentArgs(c.tokenFile)...)
	eventuallyKubectl(t, c.server, 2*time.Minute, "node-2 Ready", func() (bool, string) {
		out, err := c.server.tryKubectl("get", "node", "node-2", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out + "\nagent log:\n" + agent.Tail()
	})
	csrs := c.server.kubectl("get", "csr")
	if !strings.Contains(csrs, "kubernetes.io/kube-apiserver-client-kubelet") || !strings.Contains(csrs, "system:bootstrap:"+id) || !strings.Contains(csrs, "Approved,Issued") {
		t.Errorf("kubectl get csr:\n%s", csrs)
	}
	// The node acts as system:node:node-2, with the certificate it got.
	kc := filepath.Join(c.tmp, "agent", "agent", "kubelet.kubeconfig")
	whoami, err := exec.Command("nsenter", "--net="+c.agentPath, c.bin, "kubectl", "--kubeconfig", kc, "auth", "whoami").CombinedOutput()
	if err != nil || !strings.Contains(string(whoami), "system:node:node-2") || !strings.Contains(string(whoami), "system:nodes") {
		t.Errorf("auth whoami with the node's kubeconfig: %v\n%s", err, whoami)
	}

	// A restart reuses the certificate: no second client CSR.
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	agent = c.server.startProcess("agent-again", "kubelet running", c.agentArgs(c.tokenFile)...)
	if !strings.Contains(agent.Tail(), "earlier join") {
		t.Errorf("restarted agent did not reuse its certificate:\n%s", agent.Tail())
	}
	if n := strings.Count(c.server.kubectl("get", "csr", "--no-headers"), "kubernetes.io/kube-apiserver-client-kubelet"); n != 1 {
		t.Errorf("%d client CSRs after a restart, want 1:\n%s", n, c.server.kubectl("get", "csr"))
	}
}

// TestJoinedNodeRenewsCertificates: with certificates that live 45 s
// (--cluster-signing-duration), a joined node renews its client and
// serving certificates through CSRs as it runs, and works past their
// first expiry: it stays Ready, and the API server still reaches its
// kubelet (whose serving certificate it checks).
func TestJoinedNodeRenewsCertificates(t *testing.T) {
	t.Parallel()
	c := newJoinCluster(t, "--cluster-signing-duration=45s")
	agent := c.server.startProcess("agent", "kubelet running", c.agentArgs(c.tokenFile)...)
	start := time.Now()
	eventuallyKubectl(t, c.server, 2*time.Minute, "node-2 Ready", func() (bool, string) {
		out, err := c.server.tryKubectl("get", "node", "node-2", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out + "\nagent log:\n" + agent.Tail()
	})
	// Renewals: CSRs the node made as itself, issued, for each signer.
	renewed := func(signer string) int {
		out, _ := c.server.tryKubectl("get", "csr", "--no-headers", "-o", "custom-columns=USER:.spec.username,SIGNER:.spec.signerName,CERT:.status.certificate")
		n := 0
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "system:node:node-2" && f[1] == signer && f[2] != "<none>" {
				n++
			}
		}
		return n
	}
	eventuallyKubectl(t, c.server, 3*time.Minute, "certificates renewed past the first ones' expiry", func() (bool, string) {
		client, serving := renewed("kubernetes.io/kube-apiserver-client-kubelet"), renewed("kubernetes.io/kubelet-serving")
		return time.Since(start) > 60*time.Second && client >= 2 && serving >= 2,
			fmt.Sprintf("after %s: %d client renewals, %d serving certificates\n%s\nagent log:\n%s",
				time.Since(start).Round(time.Second), client, serving, c.server.kubectl("get", "csr"), agent.Tail())
	})
	eventuallyKubectl(t, c.server, 30*time.Second, "node-2 Ready and its lease renewed", func() (bool, string) {
		ready, _ := c.server.tryKubectl("get", "node", "node-2", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		renew, _ := c.server.tryKubectl("get", "lease", "-n", "kube-node-lease", "node-2", "-o", "jsonpath={.spec.renewTime}")
		at, err := time.Parse(time.RFC3339Nano, renew)
		return ready == "True" && err == nil && time.Since(at) < 20*time.Second, "Ready " + ready + ", lease renewed " + renew + "\nagent log:\n" + agent.Tail()
	})
	if out, err := c.server.tryKubectl("get", "--raw", "/api/v1/nodes/node-2/proxy/healthz"); err != nil || out != "ok" {
		t.Errorf("the API server to the kubelet after its certificate was renewed: %v %q\nagent log:\n%s", err, out, agent.Tail())
	}
}
