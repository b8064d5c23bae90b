package tutorialbench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/bench/harness"
)

// The node's address in its namespace, and the load balancer pool (port
// 5000 on the node's own addresses is the embedded registry's).
const (
	nodeIP = "10.99.0.1"
	lbPool = "10.99.1.10-10.99.1.19"
)

// Node is `kemudi server` with its agent in a network namespace the
// benchmark made, and a user's shell on it: a working directory, a home,
// the admin kubeconfig.
type Node struct {
	Bin                 string
	NetnsPath           string
	Dir                 string // everything the node keeps: data, runtime state, logs
	Work, Home          string
	DataDir, Kubeconfig string
	proc                *harness.Process
	cleanups            []func()
}

// StartNode makes the namespace and starts the server in it, waiting until
// node-1 is Ready. Close undoes it all.
func StartNode(ctx context.Context, bin string) (n *Node, err error) {
	dir, err := os.MkdirTemp(benchDir(), "tutorialbench-")
	if err != nil {
		return nil, err
	}
	n = &Node{Bin: bin, Dir: dir, Work: filepath.Join(dir, "work"), Home: filepath.Join(dir, "home"), DataDir: filepath.Join(dir, "data")}
	n.Kubeconfig = filepath.Join(n.DataDir, "admin.kubeconfig")
	n.onClose(func() { os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	for _, d := range []string{n.Work, n.Home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return n, err
		}
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "kemudi-tb-" + hex.EncodeToString(b)
	n.NetnsPath = "/var/run/netns/" + name
	cgroupRoot := "/" + name
	if err := run("ip", "netns", "add", name); err != nil {
		return n, err
	}
	n.onClose(func() { _ = run("ip", "netns", "del", name) })
	n.onClose(func() { removeCgroupTree(cgroupRoot) })
	n.onClose(func() { unmountUnder(dir) })
	n.onClose(func() {
		for _, pid := range harness.ProcessesMentioning(dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// One end of a veth pair whose other end leads nowhere: nothing
	// leaves the namespace.
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"},
		{"ip", "addr", "add", nodeIP + "/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0-peer", "up"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "route", "add", "default", "via", "10.99.0.254"},
	} {
		if err := run("nsenter", append([]string{"--net=" + n.NetnsPath}, args...)...); err != nil {
			return n, err
		}
	}
	port, err := harness.FreePort()
	if err != nil {
		return n, err
	}
	logf, err := os.Create(n.logFile())
	if err != nil {
		return n, err
	}
	n.onClose(func() { logf.Close() })
	args := append([]string{"--net=" + n.NetnsPath, bin, "server",
		"--data-dir", n.DataDir,
		"--https-listen-port", strconv.Itoa(port), "--bind-address", "0.0.0.0", "--advertise-address", nodeIP,
		"--lb-address-pool", lbPool,
		"--node-name", "node-1", "--node-ip", nodeIP,
		"--cri-socket", n.criSocket(),
		"--runtime-state-dir", filepath.Join(dir, "state"),
		"--pod-log-dir", filepath.Join(dir, "pods"),
		"--cgroup-root", cgroupRoot}, harness.NodeDiskFlags()...)
	n.proc, err = harness.StartProcess("server", "nsenter", "API server ready", logf, args...)
	if err != nil {
		return n, err
	}
	n.onClose(func() {
		if !n.proc.Exited() {
			_ = n.proc.Stop(30 * time.Second)
		}
	})
	if err := n.proc.WaitReady(2 * time.Minute); err != nil {
		return n, fmt.Errorf("server: %w\n%s", err, n.proc.Tail())
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := n.Kubectl(ctx, "get", "node", "node-1", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out == "True" {
			return n, nil
		}
		if time.Now().After(deadline) {
			return n, fmt.Errorf("node-1 not Ready within 2m: %s\n%s", out, n.proc.Tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *Node) onClose(f func()) { n.cleanups = append(n.cleanups, f) }

// benchDir is where the node's data goes: $KEMUDI_BENCH_DIR, else
// /var/tmp. Not /tmp: on a machine where builds and tests create and
// delete files in /tmp all day, ext4 spends most of a file creation
// there skipping recently deleted inodes (find_inode_bit →
// recently_deleted): extracting the Python base image with tar took
// 2.7-3.0 s of system time under /tmp and 0.33 s under /var/tmp (and
// on tmpfs), which would measure the machine's churn, not the node.
func benchDir() string {
	if d := os.Getenv("KEMUDI_BENCH_DIR"); d != "" {
		return d
	}
	return "/var/tmp"
}

// Close stops the server and removes everything the node made.
func (n *Node) Close() {
	for i := len(n.cleanups) - 1; i >= 0; i-- {
		n.cleanups[i]()
	}
	n.cleanups = nil
}

// Tail is the end of the server's log.
func (n *Node) Tail() string { return n.proc.Tail() }

func (n *Node) criSocket() string { return filepath.Join(n.Dir, "cri.sock") }

// logFile holds the server's output (each line prefixed "server: "), read
// for the timeline's log marks.
func (n *Node) logFile() string { return filepath.Join(n.Dir, "server.log") }

// User runs a command as the user would in their shell on the node.
func (n *Node) User(ctx context.Context, stdin, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + n.NetnsPath, name}, args...)...)
	cmd.Dir = n.Work
	cmd.Env = []string{"HOME=" + n.Home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + n.Kubeconfig}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Kemudi runs `kemudi ARGS`, with the node's runtime socket and data dir
// where a user with the default paths would give none.
func (n *Node) Kemudi(ctx context.Context, stdin string, args ...string) (string, error) {
	switch args[0] {
	case "image":
		args = append([]string{"image", "--runtime-endpoint", n.criSocket()}, args[1:]...)
	case "registry":
		args = append(append([]string{}, args...), "--data-dir", n.DataDir)
	}
	return n.User(ctx, stdin, n.Bin, args...)
}

// Kubectl runs `kemudi kubectl ARGS`.
func (n *Node) Kubectl(ctx context.Context, args ...string) (string, error) {
	return n.Kemudi(ctx, "", append([]string{"kubectl"}, args...)...)
}

// Get GETs url from inside the node's namespace (one connection, made on
// a thread in that namespace), returning the body of a 200.
func (n *Node) Get(url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	conn, err := dialIn(n.NetnsPath, req.URL.Host)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req.Close = true
	if err := req.Write(conn); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, err = bufio.NewReader(resp.Body).WriteTo(&body)
	if resp.StatusCode != http.StatusOK {
		return body.String(), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body.String(), err
}

// dialIn connects to addr over TCP from the network namespace at path.
func dialIn(path, addr string) (net.Conn, error) {
	var conn net.Conn
	err := harness.InNetns(path, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if err != nil && conn != nil {
		conn.Close()
		return nil, err
	}
	return conn, err
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// unmountUnder lazily unmounts every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var ms []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			ms = append(ms, f[4])
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i]) > len(ms[j]) })
	for _, m := range ms {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}

// removeCgroupTree kills what is left in a cgroupfs path (in every
// hierarchy) and removes it, deepest first.
func removeCgroupTree(path string) {
	var tops []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		tops = append(tops, filepath.Join("/sys/fs/cgroup", e.Name(), path))
	}
	tops = append(tops, filepath.Join("/sys/fs/cgroup", path))
	for _, top := range tops {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			} else if d.Name() == "cgroup.procs" {
				b, _ := os.ReadFile(p)
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			for i := 0; i < 50; i++ { // a killed process leaves its cgroup a moment later
				if err := os.Remove(d); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// RemoveAllImages removes every image of the node's runtime, tagged or
// not (the build cache's steps too, which hold the layers), through the
// CRI, so that the next pull fetches every blob.
func (n *Node) RemoveAllImages(ctx context.Context) error {
	conn, err := grpc.NewClient("unix://"+n.criSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	c := runtimeapi.NewImageServiceClient(conn)
	list, err := c.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	for _, img := range list.GetImages() {
		if _, err := c.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img.GetId()}}); err != nil {
			return fmt.Errorf("remove image %s: %w", img.GetId(), err)
		}
	}
	// A removed image that a build made stays as build cache (its layers
	// too): prune --all drops it, so the pull fetches and unpacks every
	// layer.
	if _, err := n.Kemudi(ctx, "", "image", "prune", "--all"); err != nil {
		return err
	}
	return n.checkEmpty()
}

// checkEmpty fails unless the node's image store (an images/ directory
// under the node's data) holds no blob and no unpacked layer.
func (n *Node) checkEmpty() error {
	var stores []string
	for _, pat := range []string{"*/images", "*/*/images", "*/*/*/images"} {
		m, _ := filepath.Glob(filepath.Join(n.Dir, pat, "content"))
		stores = append(stores, m...)
	}
	if len(stores) == 0 {
		return fmt.Errorf("no image store found under %s", n.Dir)
	}
	for _, c := range stores {
		for _, glob := range []string{filepath.Join(c, "blobs", "sha256", "*"), filepath.Join(filepath.Dir(c), "snapshots", "*")} {
			if m, _ := filepath.Glob(glob); len(m) > 0 {
				return fmt.Errorf("after removing every image the node still holds %d of %s", len(m), glob)
			}
		}
	}
	return nil
}
