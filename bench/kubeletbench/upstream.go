package kubeletbench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// upstreamNodeName is the node of upstream's kubelet: another name than
// kemudi's, in the same cluster.
const upstreamNodeName = "bench-node-upstream"

// upstreamKubelet is $KEMUDI_UPSTREAM_KUBELET, or upstream's kubelet
// built (once a machine, then cached) by test/upstream/build-binary.sh.
func upstreamKubelet() (string, error) {
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
		return "", fmt.Errorf("build upstream's kubelet (%s kubelet): %w: %s", script, err, tail(stderr.String(), 500))
	}
	return strings.TrimSpace(string(out)), nil
}

// startUpstreamKubelet runs upstream's kubelet bin inside rt's network
// namespace as node upstreamNodeName of s, with every directory under
// rt's (which kubelettest unmounts and removes) and its cgroups under
// rt's cgroup root (which kubelettest removes). It is stopped when b
// ends, before the runtime: registered after rt's clean-ups, it runs
// before them. It returns when the process was started.
func startUpstreamKubelet(b *testing.B, s *clustertest.Server, rt *kubelettest.Runtime, bin string) time.Time {
	b.Helper()
	id := nodeIdentityInNetns(b, s, rt.NetNS, upstreamNodeName)
	dir := filepath.Join(rt.Dir, "kubelet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(upstreamConfig(rt)), 0o644); err != nil {
		b.Fatal(err)
	}
	// The kubelet refuses a --cgroup-root that does not exist.
	if err := makeCgroup(rt.CgroupRoot); err != nil {
		b.Fatal(err)
	}
	_, err := os.Stat(logLinks)
	linksExisted := err == nil
	args := append([]string{"--net=" + rt.NetNS, bin,
		"--config", cfg, "--kubeconfig", id.Kubeconfig,
		"--root-dir", filepath.Join(dir, "root"), "--cert-dir", filepath.Join(dir, "pki"),
		"--hostname-override", upstreamNodeName, "--node-ip", rt.NodeIP.String(), "--v", "1",
	}, harness.NodeDiskFlags()...)
	started := time.Now()
	p, err := harness.StartProcess("upstream kubelet", "nsenter", "", nil, args...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if !p.Exited() {
			_ = p.Stop(10 * time.Second)
		}
		if b.Failed() {
			b.Logf("upstream kubelet (tail):\n%s", p.Tail())
		}
		removeLogLinks(rt.Dir, linksExisted)
	})
	return started
}

// upstreamConfig is the kubelet's configuration: cgroupfs (containerd 1.6
// cannot tell the kubelet its driver, and runs runc with cgroupfs), this
// machine's cgroup v1 allowed, no swap check, the cluster DNS kemudi's
// kubelet defaults to. Disk eviction and image GC are off as for kemudi's
// nodes, by harness.NodeDiskFlags on the command line.
func upstreamConfig(rt *kubelettest.Runtime) string {
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
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
`, rt.Endpoint, "/"+rt.CgroupRoot, filepath.Join(rt.Dir, "pods"), filepath.Join(rt.Dir, "kubelet", "volume-plugins"))
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

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
