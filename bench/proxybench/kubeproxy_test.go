package proxybench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const (
	// upstreamVersion is the kube-proxy test/upstream/build-binary.sh
	// builds.
	upstreamVersion = "v1.37.2"
	// kubeProxyMetrics is where kube-proxy serves /metrics (and
	// kubeProxyHealthz its health), inside its namespace.
	kubeProxyMetrics = "127.0.0.1:10249"
	kubeProxyHealthz = "127.0.0.1:10256"
	// nodeAddr is the benchmark node's address, on the loopback of
	// kube-proxy's namespace (TEST-NET-1; this kernel has no dummy
	// interfaces).
	nodeAddr = "192.0.2.1"
)

// kubeProxy is upstream's kube-proxy binary, or why there is none.
type kubeProxy struct {
	bin, version, skip string
}

// findKubeProxy is $KUBE_PROXY_BIN, else what test/upstream/build-binary.sh
// prints (its cached build, or one it makes now: minutes).
func findKubeProxy() kubeProxy {
	k := kubeProxy{bin: os.Getenv("KUBE_PROXY_BIN"), version: upstreamVersion}
	if k.bin == "" {
		out, err := exec.Command("../../test/upstream/build-binary.sh", "kube-proxy", upstreamVersion).Output()
		if err != nil {
			k.skip = fmt.Sprintf("no kube-proxy: test/upstream/build-binary.sh kube-proxy failed (%v)", err)
			return k
		}
		k.bin = strings.TrimSpace(string(out))
	}
	out, err := exec.Command(k.bin, "--version").Output()
	if err != nil {
		k.skip = fmt.Sprintf("no kube-proxy: %s --version: %v", k.bin, err)
		return k
	}
	// "Kubernetes v1.37.2"
	if f := strings.Fields(string(out)); len(f) == 2 {
		k.version = f[1]
	}
	return k
}

// kubeProxyArgs are kube-proxy's flags: nftables mode; everything it
// would write outside its network namespace turned off (the conntrack
// table's size and hash size are the host's, so are the conntrack
// timeouts on older kernels); its servers on the namespace's loopback; a
// minimum sync period of 0 (its default is 1 s, which would make each
// change of the loop wait for the one before's second to pass: kemudi has
// none).
func kubeProxyArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--proxy-mode=nftables",
		"--hostname-override=bench",
		"--cluster-cidr=10.42.0.0/16",
		"--nodeport-addresses=" + nodeAddr + "/32",
		"--healthz-bind-address=" + kubeProxyHealthz,
		"--metrics-bind-address=" + kubeProxyMetrics,
		"--conntrack-max-per-core=0",
		"--conntrack-min=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--conntrack-udp-timeout=0",
		"--conntrack-udp-timeout-stream=0",
		"--oom-score-adj=0",
		"--iptables-min-sync-period=0", // nftables mode's too
		"--v=2",
	}
}

// runKubeProxy measures upstream's kube-proxy, started inside a network
// namespace of its own (nsenter: the process never runs in the host's),
// into r, and stops it. A full sync not done within wait, or changes past
// it, end the run with a note in r instead of failing.
func runKubeProxy(b *testing.B, s *clustertest.Server, client kubernetes.Interface, bin string, n, changes int, wait time.Duration, r *result) {
	ns := newNetns(b)
	nsPath := "/var/run/netns/" + ns
	ip(b, "-n", ns, "addr", "add", nodeAddr+"/32", "dev", "lo")
	benchNode(b, client)
	// kube-proxy, wholly inside the namespace, uses the admin kubeconfig
	// unchanged: the API server's address there is relayed to this
	// process's loopback, and nothing is added to the host's interfaces
	// or routes.
	u, err := url.Parse(s.Config.Host)
	if err != nil {
		b.Fatal(err)
	}
	harness.RelayFromNetns(b, nsPath, u.Host)

	logFile := filepath.Join(b.TempDir(), "kube-proxy.log")
	cmd := exec.Command("nsenter", append([]string{"--net=" + nsPath, "--", bin},
		kubeProxyArgs(filepath.Join(s.DataDir, "admin.kubeconfig"))...)...)
	log, err := os.Create(logFile)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: the nft it runs dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	launched := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-exited }
	b.Cleanup(stop)
	defer stop()
	pid := cmd.Process.Pid
	kids := sampleChildren(pid)
	defer func() { r.childPeak, r.childComm = kids.Peak() }()

	conn := nftConn(b, ns)
	table := &nftables.Table{Name: "kube-proxy", Family: nftables.TableFamilyIPv4}
	if note := waitServices(conn, table, n, wait, exited); note != "" {
		r.unfinished = note + "; log: " + tail(logFile)
		r.cpuSync = cpuTime(b, pid)
		if m, err := harness.ReadMemory(pid); err == nil {
			r.rss, r.hwm = m.RSS, m.Peak
		}
		return
	}
	r.firstRules = time.Since(launched)
	// Its own figure of the full sync, observed as the sync returns
	// (and has waited for nft, whose CPU then counts as its).
	full := waitFullSync(b, nsPath, wait, exited)
	if full.GetSampleCount() > 0 {
		r.fullSync = time.Duration(full.GetSampleSum() / float64(full.GetSampleCount()) * float64(time.Second))
		r.fullSyncs = int(full.GetSampleCount())
	}
	r.cpuSync = cpuTime(b, pid)
	chainOf, chains := serviceChains(b, conn)
	r.chains = chains
	run := &proxyRun{pid: pid, nsPath: nsPath, conn: conn, table: table, metrics: kubeProxyMetrics, addrOctet: 45,
		chainOf: func(svc string) string { return chainOf["default/"+svc+"/tcp/http"] }}
	r.unfinished = measureChanges(b, client, run, r, n, changes, wait)
}

// waitServices waits until kube-proxy's service-ips map holds n services
// (its first full sync, one transaction, is in the kernel); it returns
// why not.
func waitServices(conn *nftables.Conn, table *nftables.Table, n int, wait time.Duration, exited <-chan struct{}) string {
	deadline := time.Now().Add(wait)
	for {
		if set, err := conn.GetSetByName(table, "service-ips"); err == nil {
			if elems, err := conn.GetSetElements(set); err == nil && len(elems) >= n {
				return ""
			}
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("full sync did not finish in %.0f s", wait.Seconds())
		}
		select {
		case <-exited:
			return "kube-proxy exited"
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitFullSync waits until kube-proxy's metrics count a full sync of
// IPv4 and returns that histogram (empty if none within wait).
func waitFullSync(b *testing.B, nsPath string, wait time.Duration, exited <-chan struct{}) *dto.Histogram {
	deadline := time.Now().Add(wait)
	for {
		h := histogram(proxyMetrics(b, nsPath, kubeProxyMetrics), "kubeproxy_sync_full_proxy_rules_duration_seconds")
		if h.GetSampleCount() > 0 || time.Now().After(deadline) {
			return h
		}
		select {
		case <-exited:
			return h
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// serviceChains maps "namespace/name/protocol/port" to the name of
// kube-proxy's chain for that service port ("service-HASH-ns/name/tcp/port"),
// read back from the kernel once, and counts the chains of its table.
func serviceChains(b *testing.B, conn *nftables.Conn) (map[string]string, int) {
	list, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list {
		if rest, ok := strings.CutPrefix(c.Name, "service-"); ok && c.Table.Name == "kube-proxy" {
			if _, port, ok := strings.Cut(rest, "-"); ok {
				out[port] = c.Name
			}
		}
	}
	return out, len(list)
}

// benchNode is the Node kube-proxy runs as, with the namespace's address:
// kube-proxy waits for its Node's addresses before it starts.
func benchNode(b *testing.B, client kubernetes.Interface) {
	ctx := context.Background()
	node, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		node, err = client.CoreV1().Nodes().Get(ctx, "bench", metav1.GetOptions{})
	}
	if err != nil {
		b.Fatalf("node bench: %v", err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: nodeAddr}, {Type: corev1.NodeHostName, Address: "bench"}}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		b.Fatalf("node bench status: %v", err)
	}
}

// tail is the last lines of the file at path, for a note.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-3):], " | ")
}
