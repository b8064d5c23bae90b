package kubelettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/vishvananda/netns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

// Runtime is a CRI runtime serving one test, in a network namespace of its own.
type Runtime struct {
	Dir        string
	Endpoint   string // unix://.../containerd.sock
	NetNS      string // /var/run/netns/<name>
	NodeIP     net.IP // the node's address inside the namespace
	CgroupRoot string // pods' cgroups live under it
	Registry   *testimages.Registry
	// Images by short name: "busybox", "pause" → full reference.
	Images  map[string]string
	Busybox v1.Image
	// Name is "containerd" or "kemudi".
	Name string
}

// AltRuntimeRoot is the state root of containerd's second handler,
// "runc-alt": runc keeps <root>/k8s.io/<id> for each container it runs.
func (c *Runtime) AltRuntimeRoot() string { return filepath.Join(c.Dir, "runc-alt") }

// Skip skips the test unless it runs as root with containerd installed.
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "nsenter", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s (apt-get install containerd runc containernetworking-plugins)", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("needs the CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)")
	}
}

func randName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// StartContainerd starts containerd in a new network namespace, with a
// registry holding busybox and a pause image beside it.
func StartContainerd(t testing.TB) *Runtime {
	t.Helper()
	Skip(t)
	dir, err := os.MkdirTemp("", "kt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeDir(dir) })
	c := &Runtime{Dir: dir, Endpoint: "unix://" + filepath.Join(dir, "containerd.sock"),
		NodeIP: net.ParseIP("10.99.0.2"), CgroupRoot: randName("kemudi-test-"), Images: map[string]string{}, Name: "containerd"}
	c.makeNetNS(t)
	t.Cleanup(func() { removeCgroups(c.CgroupRoot) })
	c.startRegistry(t)
	c.writeConfig(t)
	c.run(t)
	return c
}

func (c *Runtime) makeNetNS(t testing.TB) {
	t.Helper()
	name := randName("kt-")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	c.NetNS = "/var/run/netns/" + name
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "node0", "type", "veth", "peer", "name", "node0p"},
		{"link", "set", "node0p", "up"},
		{"addr", "add", c.NodeIP.String() + "/24", "dev", "node0"},
		{"link", "set", "node0", "up"},
	} {
		cmd := exec.Command("nsenter", append([]string{"--net=" + c.NetNS, "ip"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip %v in %s: %v: %s", args, name, err, out)
		}
	}
}

// inNetNS runs f on a thread inside the test's network namespace.
func (c *Runtime) inNetNS(f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromPath(c.NetNS)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// The thread stays in the namespace: never unlock it, so that
		// it ends with this goroutine.
		return fmt.Errorf("return to the host's network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Dial connects from inside the test's network namespace (to pods, and
// to the registry), for the kubelet's probes and hooks.
func (c *Runtime) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := c.inNetNS(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

func (c *Runtime) startRegistry(t testing.TB) {
	t.Helper()
	c.Registry = c.NewRegistry(t)
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	c.Busybox = bb
	// The pause image: busybox sleeping until the runtime kills it.
	pause, err := mutate.Config(bb, v1.Config{Entrypoint: []string{"/bin/sleep", "2147483647"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]v1.Image{"busybox:1": bb, "pause:1": pause} {
		if _, err := c.Registry.Push(name, img); err != nil {
			t.Fatal(err)
		}
		c.Images[strings.Split(name, ":")[0]] = c.Registry.Ref(name)
	}
}

func (c *Runtime) writeConfig(t testing.TB) {
	t.Helper()
	d := c.Dir
	for _, sub := range []string{"cni", "cni-ipam", "root", "state", "opt"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "kemudi-test", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "{{.PodCIDR}}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
`, filepath.Join(d, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(d, "cni-template.json"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
    # A second handler, for RuntimeClass tests: runc with a state root
    # of its own, where a test sees which handler ran a pod. (crun 1.8,
    # Debian 12's, refuses this machine's hybrid cgroups.)
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-alt]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-alt.options]
        Root = %[11]q
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[7]q
    conf_template = %[8]q
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.%[9]q]
    endpoint = [%[10]q]
`, filepath.Join(d, "root"), filepath.Join(d, "state"), filepath.Join(d, "containerd.sock"), filepath.Join(d, "containerd.sock.ttrpc"),
		filepath.Join(d, "opt"), c.Images["pause"], filepath.Join(d, "cni"), filepath.Join(d, "cni-template.json"),
		c.Registry.Host, "http://"+c.Registry.Host, c.AltRuntimeRoot())
	if err := os.WriteFile(filepath.Join(d, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (c *Runtime) run(t testing.TB) {
	t.Helper()
	c.serve(t, "containerd", "containerd", "--config", filepath.Join(c.Dir, "config.toml"))
}

// serve runs the runtime's command inside the namespace, waits until it
// answers the CRI, and stops it (after removing every pod) when the test ends.
func (c *Runtime) serve(t testing.TB, name string, args ...string) {
	t.Helper()
	logPath := filepath.Join(c.Dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", append([]string{"--net=" + c.NetNS}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log (tail):\n%s", name, tail(string(b), 4000))
			}
		}
	})
	conn, err := grpc.NewClient(c.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rs := runtimeapi.NewRuntimeServiceClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := rs.Version(ctx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited:\n%s", name, tail(string(b), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not serving the CRI after 30s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Registered after containerd's stop, so it runs before it: no pod
	// outlives the test, whatever the kubelet left.
	t.Cleanup(func() { c.removeAllPods() })
}

// removeAllPods stops and removes every sandbox (and so its containers).
func (c *Runtime) removeAllPods() {
	conn, err := grpc.NewClient(c.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return
	}
	defer conn.Close()
	rs := runtimeapi.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sbs, err := rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return
	}
	for _, sb := range sbs.Items {
		_, _ = rs.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id})
		_, _ = rs.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id})
	}
}

// removeCgroups kills whatever still runs in the test's cgroup tree (the
// pods of a `kemudi agent`, whose kubelet made them again as the clean-up
// removed them, outlive it and its supervisor), waits until it is gone,
// and removes the tree from every hierarchy.
func removeCgroups(root string) {
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	mounts = append(mounts, "/sys/fs/cgroup")
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := map[int]bool{}
		for _, m := range mounts {
			procsUnder(filepath.Join(m, root), pids)
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		for pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range mounts {
		removeTree(filepath.Join(m, root))
	}
}

// procsUnder adds the processes of the cgroup p and its descendants.
func procsUnder(p string, pids map[int]bool) {
	b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids[pid] = true
		}
	}
	ents, _ := os.ReadDir(p)
	for _, e := range ents {
		if e.IsDir() {
			procsUnder(filepath.Join(p, e.Name()), pids)
		}
	}
}

func removeTree(p string) {
	ents, err := os.ReadDir(p)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			removeTree(filepath.Join(p, e.Name()))
		}
	}
	_ = os.Remove(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// removeDir unmounts whatever is still mounted under dir (a finished
// pod's memory-backed emptyDir, say), deepest first, then removes it.
func removeDir(dir string) {
	b, _ := os.ReadFile("/proc/self/mounts")
	var under []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			under = append(under, f[1])
		}
	}
	sort.Slice(under, func(i, j int) bool { return len(under[i]) > len(under[j]) })
	for _, m := range under {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(dir)
}
