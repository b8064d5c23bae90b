package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// TestLoadBalancerTraffic is the seed tutorial's expose step on a real
// node: `kubectl expose --type=LoadBalancer` gets an EXTERNAL-IP at once
// (the node's address: kemudi server runs the local cloud provider
// without a pool), the events say so, and a machine outside the node
// reaches the pods at that address through the node's proxy. A second
// service wanting the same port is told which service has it. The node
// carries the provider's providerID and zone.
func TestLoadBalancerTraffic(t *testing.T) {
	t.Parallel()
	n := newServerNode(t, false)
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(webDeployment, "IMAGE", n.registry.Ref("busybox:1"))), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("apply", "-f", manifest)
	n.kubectl("rollout", "status", "deployment/web", "--timeout=180s")
	pods := n.webPods()

	n.kubectl("expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	exposed := time.Now()
	eventuallyKubectl(t, n, 30*time.Second, "web's EXTERNAL-IP", func() (bool, string) {
		out, err := n.tryKubectl("get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		return err == nil && out == serverNodeIP, out
	})
	t.Logf("EXTERNAL-IP %s seen %v after kubectl expose returned (kubectl get polls)", serverNodeIP, time.Since(exposed))
	if out := n.kubectl("get", "svc", "web"); !strings.Contains(out, serverNodeIP) || strings.Contains(out, "<pending>") {
		t.Errorf("kubectl get svc web:\n%s", out)
	}
	eventuallyKubectl(t, n, 30*time.Second, "load balancer events", func() (bool, string) {
		out, err := n.tryKubectl("get", "events", "--field-selector", "involvedObject.name=web")
		return err == nil && strings.Contains(out, "EnsuringLoadBalancer") && strings.Contains(out, "EnsuredLoadBalancer"), out
	})

	// From a machine outside the node, to the EXTERNAL-IP.
	client := newClientNetns(t, n.netnsName)
	n.waitAllPodsAnswer(pods, "from outside to the EXTERNAL-IP", client, "http://"+serverNodeIP+"/")

	// The same port again: refused with the reason, not silently pending.
	n.kubectl("create", "service", "loadbalancer", "web2", "--tcp=80:8080")
	eventuallyKubectl(t, n, 30*time.Second, "web2's SyncLoadBalancerFailed naming default/web", func() (bool, string) {
		out, err := n.tryKubectl("get", "events", "--field-selector", "involvedObject.name=web2")
		return err == nil && strings.Contains(out, "SyncLoadBalancerFailed") && strings.Contains(out, "already used by service default/web"), out
	})

	out := n.kubectl("get", "nodes", "-o", "custom-columns=NAME:.metadata.name,PROVIDER:.spec.providerID,ZONE:.metadata.labels.topology\\.kubernetes\\.io/zone")
	if !strings.Contains(out, "local://node-1") || !strings.Contains(out, "   local") {
		t.Errorf("node-1 lacks the provider's providerID and zone:\n%s", out)
	}

	// Deleting the service removes it (the finalizer comes off once its
	// load balancer is gone) and frees its port for web2 at once.
	n.kubectl("delete", "svc", "web", "--timeout=60s")
	eventuallyKubectl(t, n, 30*time.Second, "web2 to take the freed port", func() (bool, string) {
		out, err := n.tryKubectl("get", "svc", "web2", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		return err == nil && out == serverNodeIP, out
	})
}

// TestCloudControllerManagerAlone: `kemudi server --disable
// cloud-controller-manager` leaves its kubeconfig, and `kemudi
// cloud-controller-manager --cloud-provider local --lb-address-pool`
// runs with it as a process of its own, leader-elected: a service gets
// the pool's first address.
func TestCloudControllerManagerAlone(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--disable", "cloud-controller-manager"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	// A pool overlapping the pods is refused before anything runs.
	if out, err := exec.Command(bin, "cloud-controller-manager", "--kubeconfig", srv.Kubeconfig, "--lb-address-pool", "10.42.0.10-10.42.0.20").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "overlaps the pod CIDR 10.42.0.0/16") {
		t.Errorf("an overlapping pool: %v\n%s", err, out)
	}
	p, err := harness.StartProcess("cloud-controller-manager", bin, "cloud controllers starting", nil, "cloud-controller-manager",
		"--kubeconfig", filepath.Join(srv.DataDir, "cloud-controller-manager.kubeconfig"),
		"--cloud-provider", "local", "--leader-elect", "--lb-address-pool", "10.99.7.200-10.99.7.201")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("stop cloud-controller-manager: %v", err)
		}
	})
	if err := p.WaitReady(time.Minute); err != nil {
		t.Fatalf("cloud-controller-manager: %v\n%s", err, p.Tail())
	}
	kubectl(t, bin, srv, "create", "service", "loadbalancer", "web", "--tcp=80:8080")
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := kubectl(t, bin, srv, "get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		if out == "10.99.7.200" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web's EXTERNAL-IP = %q, want the pool's 10.99.7.200\n%s", out, p.Tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := kubectl(t, bin, srv, "get", "lease", "-n", "kube-system", "cloud-controller-manager", "-o", "jsonpath={.spec.holderIdentity}"); out == "" {
		t.Error("no holder of the cloud-controller-manager lease")
	}
}

// TestServerLBAddressPool: `kemudi server --lb-address-pool` gives
// LoadBalancer services the pool's addresses; a malformed pool stops the
// server before it starts.
func TestServerLBAddressPool(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "server", "--data-dir", t.TempDir(), "--lb-address-pool", "10.99.8.250-10.99.8.200").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "--lb-address-pool") || !strings.Contains(string(out), "ends before it starts") {
		t.Errorf("a malformed pool: %v\n%s", err, out)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--lb-address-pool", "10.99.8.200-10.99.8.201"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	kubectl(t, bin, srv, "create", "service", "loadbalancer", "web", "--tcp=80:8080")
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := kubectl(t, bin, srv, "get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		if out == "10.99.8.200" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web's EXTERNAL-IP = %q, want the pool's 10.99.8.200", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
