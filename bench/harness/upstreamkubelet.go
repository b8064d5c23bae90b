package harness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// UpstreamKubeletBinary is $KEMUDI_UPSTREAM_KUBELET, or upstream's
// kubelet built (once a machine, then cached) by
// test/upstream/build-binary.sh, found from a package two levels under
// the repository (bench/<name>).
func UpstreamKubeletBinary() (string, error) {
	if p := os.Getenv("KEMUDI_UPSTREAM_KUBELET"); p != "" {
		return p, nil
	}
	script, err := filepath.Abs("../../test/upstream/build-binary.sh")
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd := exec.Command("bash", script, "kubelet")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build upstream's kubelet (%s kubelet): %w: %s", script, err, LastBytes(stderr.String(), 500))
	}
	return strings.TrimSpace(string(out)), nil
}

// UpstreamKubelet is how one upstream kubelet runs.
type UpstreamKubelet struct {
	NodeName string
	// Kubeconfig holds the kubelet's credentials. With
	// BootstrapKubeconfig set, the kubelet writes it itself after its
	// TLS bootstrap: a bootstrap token and a client certificate CSR, as
	// a joining node's.
	Kubeconfig, BootstrapKubeconfig string
	// ClientCAFile, when set, serves the kubelet's API as a cluster's:
	// client certificates checked against this CA, bearer tokens and
	// every request's authorization asked of the API server (webhook),
	// and its serving certificate from a kubelet-serving CSR. Unset, the
	// API answers no one.
	ClientCAFile string
	// Config is more KubeletConfiguration fields, YAML lines.
	Config string
}

// StartUpstreamKubelet runs upstream's kubelet bin inside rt's network
// namespace, on rt's runtime, with every directory under rt's (which
// kubelettest unmounts and removes) and its cgroups under rt's cgroup
// root (which kubelettest removes). It is stopped when tb ends, before
// the runtime: registered after rt's clean-ups, it runs before them.
// It returns the process and when it was started.
func StartUpstreamKubelet(tb testing.TB, bin string, rt *kubelettest.Runtime, k UpstreamKubelet) (*Process, time.Time) {
	tb.Helper()
	dir := filepath.Join(rt.Dir, "kubelet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(upstreamKubeletConfig(rt, k)), 0o644); err != nil {
		tb.Fatal(err)
	}
	// The kubelet refuses a --cgroup-root that does not exist.
	if err := makeCgroup(rt.CgroupRoot); err != nil {
		tb.Fatal(err)
	}
	_, err := os.Stat(logLinks)
	linksExisted := err == nil
	args := []string{"--net=" + rt.NetNS, bin,
		"--config", cfg, "--kubeconfig", k.Kubeconfig,
		"--root-dir", filepath.Join(dir, "root"), "--cert-dir", filepath.Join(dir, "pki"),
		"--hostname-override", k.NodeName, "--node-ip", rt.NodeIP.String(), "--v", "1",
	}
	if k.BootstrapKubeconfig != "" {
		args = append(args, "--bootstrap-kubeconfig", k.BootstrapKubeconfig)
	}
	args = append(args, NodeDiskFlags()...)
	started := time.Now()
	p, err := StartProcess("upstream kubelet", "nsenter", "", nil, args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !p.Exited() {
			_ = p.Stop(10 * time.Second)
		}
		if tb.Failed() {
			tb.Logf("upstream kubelet (tail):\n%s", p.Tail())
		}
		removeLogLinks(rt.Dir, linksExisted)
	})
	return p, started
}

// upstreamKubeletConfig is the kubelet's configuration: cgroupfs
// (containerd 1.6 cannot tell the kubelet its driver, and runs runc with
// cgroupfs), this machine's cgroup v1 allowed, no swap check, the
// cluster DNS kemudi's kubelet defaults to. Disk eviction and image GC
// are off as for kemudi's nodes, by NodeDiskFlags on the command line.
func upstreamKubeletConfig(rt *kubelettest.Runtime, k UpstreamKubelet) string {
	api := `authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
`
	if k.ClientCAFile != "" {
		api = fmt.Sprintf(`authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %q}
authorization:
  mode: Webhook
serverTLSBootstrap: true
`, k.ClientCAFile)
	}
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: %q
cgroupDriver: cgroupfs
cgroupRoot: %q
failCgroupV1: false
failSwapOn: false
podLogsDir: %q
volumePluginDir: %q
clusterDNS: ["10.43.0.10"]
clusterDomain: cluster.local
readOnlyPort: 0
%s%s`, rt.Endpoint, "/"+rt.CgroupRoot, filepath.Join(rt.Dir, "pods"), filepath.Join(rt.Dir, "kubelet", "volume-plugins"), api, k.Config)
}

// makeCgroup makes the cgroup root in every hierarchy mounted under
// /sys/fs/cgroup (v1 controllers and the v2 mount beside them).
func makeCgroup(root string) error {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || (fields[2] != "cgroup" && fields[2] != "cgroup2") || !strings.HasPrefix(fields[1], "/sys/fs/cgroup") {
			continue
		}
		if err := os.MkdirAll(filepath.Join(fields[1], root), 0o755); err != nil {
			return fmt.Errorf("cgroup root: %w", err)
		}
	}
	return sc.Err()
}

// logLinks is where upstream's kubelet links each container's log,
// whatever its podLogsDir.
const logLinks = "/var/log/containers"

// removeLogLinks removes the links in logLinks to logs under dir, and
// logLinks itself if the kubelet made it and nothing else is in it.
func removeLogLinks(dir string, existed bool) {
	ents, _ := os.ReadDir(logLinks)
	for _, e := range ents {
		p := filepath.Join(logLinks, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, dir+"/") {
			_ = os.Remove(p)
		}
	}
	if !existed {
		_ = os.Remove(logLinks) // fails unless empty
	}
}

// LastBytes is the end of s, at most n bytes: a log's tail for a message.
func LastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// WriteBootstrapKubeconfig writes a kubeconfig to path for a kubelet's
// TLS bootstrap into s: s's CA, and the bootstrap token in s's join
// token (<data-dir>/node-token, K10<CA hash>::<id>.<secret>).
func (s *RuntimeServer) WriteBootstrapKubeconfig(path, serverURL string) error {
	data, err := os.ReadFile(filepath.Join(s.DataDir, "node-token"))
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	_, token, ok := strings.Cut(strings.TrimSpace(string(data)), "::")
	if !ok {
		return fmt.Errorf("join token %s: no bootstrap token after ::", filepath.Join(s.DataDir, "node-token"))
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kemudi"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthority: filepath.Join(s.DataDir, "tls", "ca.crt")}
	cfg.AuthInfos["bootstrap"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["bootstrap"] = &clientcmdapi.Context{Cluster: "kemudi", AuthInfo: "bootstrap"}
	cfg.CurrentContext = "bootstrap"
	return clientcmd.WriteToFile(*cfg, path)
}
