package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// TestMetricsServer installs upstream's metrics-server release, unmodified
// (its own kustomize overlay with only the image rewritten to the test's
// registry, as a user mirroring registry.k8s.io would), on a one-machine
// cluster: its APIService v1beta1.metrics.k8s.io becomes Available through
// the aggregator, metrics-server scrapes the kubelet's /metrics/resource
// over TLS it verifies against the cluster CA (no --kubelet-insecure-tls),
// and `kubectl top` works. Twice, at once: on kemudi server's own node and
// on a `kemudi agent` joined by token (its serving certificate from a CSR).
func TestMetricsServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// Built once per machine (minutes), before the cluster starts.
	img, err := testimages.MetricsServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := testimages.MetricsServerSource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// agent: the node is `kemudi agent`, joined by token, its kubelet
		// serving certificate issued through a CSR (kubelet-serving);
		// else kemudi server's own node, whose certificate the server signs.
		agent bool
	}{
		{"server node", false},
		{"joined agent", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testMetricsServer(t, newServerNode(t, tc.agent), img, src)
		})
	}
}

func testMetricsServer(t *testing.T, n *serverNode, img v1.Image, src string) {
	ref, err := n.registry.Push("metrics-server:"+testimages.MetricsServerVersion, img)
	if err != nil {
		t.Fatal(err)
	}
	_, digest, _ := strings.Cut(ref, "@")
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := n.tryKubectl("get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True", out
	})
	// A workload of two containers, for `kubectl top pod --containers`.
	worker := filepath.Join(t.TempDir(), "worker.yaml")
	if err := os.WriteFile(worker, []byte(strings.ReplaceAll(metricsWorkerPod, "IMAGE", n.registry.Ref("busybox:1"))), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("apply", "-f", worker)

	// The user's overlay of upstream's release overlay (kustomize takes
	// only relative roots: upstream's manifests/ are copied beside it).
	kust := t.TempDir()
	if err := os.CopyFS(filepath.Join(kust, "manifests"), os.DirFS(filepath.Join(src, "manifests"))); err != nil {
		t.Fatal(err)
	}
	overlay := "resources:\n- manifests/overlays/release\n" +
		"images:\n- name: " + testimages.MetricsServerImageName + "\n  newName: " + n.registry.Ref("metrics-server") + "\n  digest: " + digest + "\n"
	if err := os.WriteFile(filepath.Join(kust, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	t.Logf("$ kubectl apply -k (upstream %s manifests/overlays/release)\n%s", testimages.MetricsServerVersion, n.kubectl("apply", "-k", kust))

	eventuallyKubectl(t, n, 5*time.Minute, "APIService v1beta1.metrics.k8s.io Available", func() (bool, string) {
		out, err := n.tryKubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o", `jsonpath={.status.conditions[?(@.type=="Available")]}`)
		return err == nil && strings.Contains(out, `"status":"True"`), out + "\n" + n.metricsServerState()
	})
	t.Logf("APIService Available %s after apply", time.Since(applied).Round(100*time.Millisecond))

	var top string
	eventuallyKubectl(t, n, 3*time.Minute, "kubectl top nodes lists node-1", func() (bool, string) {
		out, err := n.tryKubectl("top", "nodes")
		top = out
		return err == nil && tableHas(out, map[string]string{"NAME": "node-1"}), out + "\n" + n.metricsServerState()
	})
	t.Logf("first successful kubectl top nodes %s after apply (load %s)\n%s", time.Since(applied).Round(100*time.Millisecond), harness.LoadAvg(), top)
	row := tableRows(top)[0]
	if !nonZeroQuantity(row["CPU(cores)"]) || !nonZeroQuantity(row["MEMORY(bytes)"]) || !regexp.MustCompile(`^\d+%$`).MatchString(row["MEMORY(%)"]) {
		t.Errorf("kubectl top nodes: row %v, want non-zero CPU and memory and a memory percentage", row)
	}

	eventuallyKubectl(t, n, 3*time.Minute, "kubectl top pods -A lists metrics-server and the worker", func() (bool, string) {
		out, err := n.tryKubectl("top", "pods", "-A")
		top = out
		if err != nil {
			return false, out
		}
		var ms, worker bool
		for _, r := range tableRows(out) {
			ms = ms || (r["NAMESPACE"] == "kube-system" && strings.HasPrefix(r["NAME"], "metrics-server-") && nonZeroQuantity(r["MEMORY(bytes)"]))
			worker = worker || (r["NAMESPACE"] == "default" && r["NAME"] == "worker")
		}
		return ms && worker, out
	})
	t.Logf("$ kubectl top pods -A\n%s", top)

	eventuallyKubectl(t, n, 2*time.Minute, "kubectl top pod worker --containers", func() (bool, string) {
		out, err := n.tryKubectl("top", "pod", "worker", "--containers")
		top = out
		return err == nil && tableHas(out, map[string]string{"POD": "worker", "NAME": "spin"}) &&
			tableHas(out, map[string]string{"POD": "worker", "NAME": "idle"}), out
	})
	t.Logf("$ kubectl top pod worker --containers\n%s", top)
	for _, r := range tableRows(top) {
		if r["NAME"] == "spin" && !nonZeroQuantity(r["CPU(cores)"]) {
			t.Errorf("kubectl top pod worker --containers: the spinning container's CPU is %q, want > 0", r["CPU(cores)"])
		}
	}

	var nodes metricsv1beta1.NodeMetricsList
	raw := n.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
	if err := json.Unmarshal([]byte(raw), &nodes); err != nil {
		t.Fatalf("get --raw /apis/metrics.k8s.io/v1beta1/nodes: %v\n%s", err, raw)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "node-1" || nodes.Items[0].Usage.Cpu().IsZero() || nodes.Items[0].Usage.Memory().IsZero() || nodes.Items[0].Window.Duration <= 0 {
		t.Errorf("NodeMetricsList = %+v, want node-1 with CPU, memory and a window", nodes.Items)
	}
	// Discovery lists the aggregated group, as kubectl api-resources shows it.
	if out := n.kubectl("api-resources", "--api-group=metrics.k8s.io"); !tableHas(out, map[string]string{"NAME": "nodes", "APIVERSION": "metrics.k8s.io/v1beta1"}) ||
		!tableHas(out, map[string]string{"NAME": "pods", "APIVERSION": "metrics.k8s.io/v1beta1"}) {
		t.Errorf("kubectl api-resources --api-group=metrics.k8s.io:\n%s", out)
	}
}

// metricsWorkerPod spins a little in one container and sleeps in the other.
const metricsWorkerPod = `
apiVersion: v1
kind: Pod
metadata: {name: worker}
spec:
  containers:
  - {name: spin, image: IMAGE, command: [sh, -c, "while true; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 0.2; done"]}
  - {name: idle, image: IMAGE, command: [sleep, "3600"]}
`

// nonZeroQuantity says whether s ("12m", "34Mi") is a quantity above 0.
func nonZeroQuantity(s string) bool {
	q, err := resource.ParseQuantity(s)
	return err == nil && q.Sign() > 0
}

// metricsServerState is what to look at when metrics-server is not
// serving: its pod, its last log lines, the APIService.
func (n *serverNode) metricsServerState() string {
	pods, _ := n.tryKubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=metrics-server", "-o", "wide")
	logs, _ := n.tryKubectl("logs", "-n", "kube-system", "deploy/metrics-server", "--tail=15")
	return pods + "\n" + logs
}
