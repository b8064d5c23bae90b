package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

type v1Image = v1.Image

var criID = regexp.MustCompile(`^[0-9a-f]{64}$`)

type podFiles struct{ pod, ctr string }

// podAndContainer writes crictl's pod.json and ctr.json: a busybox pod
// whose container prints its hostname and resolv.conf, then waits, and
// exits 0 on SIGTERM.
func (n *runtimeNode) podAndContainer(name string) podFiles {
	pod := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "default", "uid": "uid-" + name, "attempt": 0},
		"hostname":      name,
		"log_directory": filepath.Join(n.logDir, name),
		"dns_config":    map[string]any{"servers": []string{"10.43.0.10"}, "searches": []string{"default.svc.cluster.local"}, "options": []string{"ndots:5"}},
		"labels":        map[string]string{"app": name},
		"linux":         map[string]any{},
	}
	ctr := map[string]any{
		"metadata": map[string]any{"name": "app"},
		"image":    map[string]any{"image": n.registry.Ref("busybox:1")},
		"command":  []string{"sh", "-c", `trap "exit 0" TERM; echo "hello from $(hostname) as $(id -u)"; cat /etc/resolv.conf; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; while true; do sleep 0.2; done`},
		"log_path": "app.log",
		"linux": map[string]any{
			"resources": map[string]any{"memory_limit_in_bytes": 64 << 20, "cpu_shares": 512, "cpu_period": 100000, "cpu_quota": 50000},
			"security_context": map[string]any{
				"run_as_user":  map[string]any{"value": 65534},
				"no_new_privs": true,
				"seccomp":      map[string]any{"profile_type": 0}, // RuntimeDefault
			},
		},
	}
	return podFiles{pod: n.writeJSON(name+"-pod.json", pod), ctr: n.writeJSON(name+"-ctr.json", ctr)}
}

// TestRuntimeCrictl drives `kemudi runtime` with crictl through a pod's
// life, then checks that nothing of the pod is left on the node.
func TestRuntimeCrictl(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	ref := n.registry.Ref("busybox:1")

	var info struct {
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status bool   `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	}
	n.crictlJSON(&info, "info")
	for _, c := range info.Status.Conditions {
		if !c.Status {
			t.Errorf("crictl info: %s is false", c.Type)
		}
	}
	if len(info.Status.Conditions) != 2 {
		t.Errorf("crictl info: conditions %+v, want RuntimeReady and NetworkReady", info.Status.Conditions)
	}

	if out := n.crictl("pull", ref); !strings.Contains(out, "Image is up to date for sha256:") {
		t.Errorf("crictl pull: %q", out)
	}
	if out := n.crictl("images"); !strings.Contains(out, n.registry.Host+"/busybox") || !strings.Contains(out, " 1 ") {
		t.Errorf("crictl images:\n%s", out)
	}
	var inspecti struct {
		Status struct {
			ID       string   `json:"id"`
			RepoTags []string `json:"repoTags"`
		} `json:"status"`
	}
	n.crictlJSON(&inspecti, "inspecti", ref)
	if !strings.HasPrefix(inspecti.Status.ID, "sha256:") || len(inspecti.Status.RepoTags) != 1 || inspecti.Status.RepoTags[0] != ref {
		t.Errorf("crictl inspecti: %+v", inspecti.Status)
	}

	if out := n.crictl("version"); !strings.Contains(out, "RuntimeName:  kemudi") {
		t.Errorf("crictl version:\n%s", out)
	}
	if out := n.crictl("runtime-config"); !strings.Contains(strings.ToLower(out), "cgroupfs") {
		t.Errorf("crictl runtime-config:\n%s", out)
	}
	if out := n.crictl("imagefsinfo"); !strings.Contains(out, n.root) {
		t.Errorf("crictl imagefsinfo does not name the runtime's root:\n%s", out)
	}
	events := n.startEvents()

	files := n.podAndContainer("web")
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	if !criID.MatchString(pod) {
		t.Fatalf("crictl runp: %q is not a pod id", pod)
	}
	var inspectp struct {
		Status struct {
			State   string `json:"state"`
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
	}
	n.crictlJSON(&inspectp, "inspectp", pod)
	if inspectp.Status.State != "SANDBOX_READY" {
		t.Errorf("crictl inspectp: state %s", inspectp.Status.State)
	}
	_, podNet, _ := net.ParseCIDR("10.42.0.0/24")
	if ip := net.ParseIP(inspectp.Status.Network.IP); ip == nil || !podNet.Contains(ip) {
		t.Errorf("crictl inspectp: pod IP %q is not in 10.42.0.0/24", inspectp.Status.Network.IP)
	}

	// A mount source that does not exist: a clear error, nothing left.
	bad := n.writeJSON("bad-ctr.json", map[string]any{
		"metadata": map[string]any{"name": "bad"},
		"image":    map[string]any{"image": ref},
		"mounts":   []map[string]any{{"container_path": "/data", "host_path": "/nonexistent/kemudi-e2e"}},
	})
	if out, err := n.tryCrictl("create", pod, bad, files.pod); err == nil || !strings.Contains(out, "config.mounts[0].host_path") || !strings.Contains(out, "InvalidArgument") {
		t.Errorf("crictl create with a missing mount source: err %v, output %q", err, out)
	}
	if out := n.crictl("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl ps -a after a failed create: %q", out)
	}
	if m := mountsUnder(filepath.Join(n.root, "containers")); len(m) > 0 {
		t.Errorf("a failed create left mounts: %s", fmtList(m))
	}

	ctr := strings.TrimSpace(n.crictl("create", pod, files.ctr, files.pod))
	if !criID.MatchString(ctr) {
		t.Fatalf("crictl create: %q is not a container id", ctr)
	}
	if out := n.crictl("ps", "-a"); !strings.Contains(out, ctr[:13]) || !strings.Contains(out, "Created") {
		t.Errorf("crictl ps -a before start:\n%s", out)
	}
	n.crictl("start", ctr)
	if out, err := n.tryCrictl("start", ctr); err == nil || !strings.Contains(out, "FailedPrecondition") {
		t.Errorf("crictl start of a running container: err %v, output %q", err, out)
	}
	if out, err := n.tryCrictl("inspect", "deadbeef"); err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("crictl inspect of an unknown container: err %v, output %q", err, out)
	}
	if out := n.crictl("ps"); !strings.Contains(out, ctr[:13]) || !strings.Contains(out, "Running") || !strings.Contains(out, "app") {
		t.Errorf("crictl ps:\n%s", out)
	}
	var inspect struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
			Reason   string `json:"reason"`
			LogPath  string `json:"logPath"`
			ImageRef string `json:"imageRef"`
		} `json:"status"`
		Info struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	n.crictlJSON(&inspect, "inspect", ctr)
	if inspect.Status.State != "CONTAINER_RUNNING" || inspect.Info.Pid <= 0 {
		t.Errorf("crictl inspect: state %s, pid %d", inspect.Status.State, inspect.Info.Pid)
	}
	if want := filepath.Join(n.logDir, "web", "app.log"); inspect.Status.LogPath != want {
		t.Errorf("crictl inspect: log path %q, want %q", inspect.Status.LogPath, want)
	}
	if inspect.Status.ImageRef != inspecti.Status.ID {
		t.Errorf("crictl inspect: imageRef %q, want %q", inspect.Status.ImageRef, inspecti.Status.ID)
	}
	pid := inspect.Info.Pid

	eventually(t, 30*time.Second, "crictl logs shows the container's output", func() (bool, string) {
		out, _ := n.tryCrictl("logs", ctr)
		return strings.Contains(out, "hello from web as 65534") && strings.Contains(out, "nameserver 10.43.0.10") &&
			strings.Contains(out, "search default.svc.cluster.local") &&
			regexp.MustCompile(`Seccomp:\s+2`).MatchString(out) && regexp.MustCompile(`NoNewPrivs:\s+1`).MatchString(out), out
	})
	eventually(t, 30*time.Second, "crictl stats lists the container", func() (bool, string) {
		out, _ := n.tryCrictl("stats")
		return strings.Contains(out, ctr[:13]), out
	})
	if cg := cgroupDirs(filepath.Join(n.cgroupParent, pod, ctr)); len(cg) == 0 {
		t.Errorf("the container has no cgroup under %s/%s", n.cgroupParent, pod)
	} else if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", n.cgroupParent, pod, ctr, "memory.limit_in_bytes")); err == nil && strings.TrimSpace(string(b)) != "67108864" {
		t.Errorf("memory limit %s, want 67108864", b)
	}

	eventually(t, 30*time.Second, "crictl statsp lists the pod", func() (bool, string) {
		out, _ := n.tryCrictl("statsp")
		return strings.Contains(out, "web"), out
	})
	// The CRI's metrics (cAdvisor's series, what the kubelet's
	// /metrics/cadvisor serves): described, and reported for the running
	// container, its limit included, and for its pod's network.
	if out := n.crictl("metricdescs"); !strings.Contains(out, "container_cpu_cfs_throttled_seconds_total") || !strings.Contains(out, "container_network_receive_packets_dropped_total") {
		t.Errorf("crictl metricdescs:\n%s", out)
	}
	eventually(t, 30*time.Second, "crictl metricsp reports the container", func() (bool, string) {
		out, _ := n.tryCrictl("metricsp")
		return strings.Contains(out, ctr) && strings.Contains(out, "container_threads") && strings.Contains(out, "67108864") &&
			strings.Contains(out, "container_network_transmit_bytes_total"), out
	})
	n.crictl("update", "--memory", "100000000", ctr)
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", n.cgroupParent, pod, ctr, "memory.limit_in_bytes")); err == nil && strings.TrimSpace(string(b)) != "99999744" && strings.TrimSpace(string(b)) != "100000000" {
		t.Errorf("memory limit after crictl update: %s", b)
	}
	// ExecSync travels on the CRI socket itself (streaming exec, attach and
	// port-forward are TestRuntimeStreaming's: their server listens inside
	// the node's namespace).
	if out := n.crictl("exec", "-s", ctr, "echo", "exec-ok"); strings.TrimSpace(out) != "exec-ok" {
		t.Errorf("crictl exec -s: %q, want exec-ok", out)
	}

	n.crictl("stop", "-t", "10", ctr)
	n.crictlJSON(&inspect, "inspect", ctr)
	if inspect.Status.State != "CONTAINER_EXITED" || inspect.Status.ExitCode != 0 || inspect.Status.Reason != "Completed" {
		t.Errorf("after crictl stop: state %s, exit code %d, reason %q", inspect.Status.State, inspect.Status.ExitCode, inspect.Status.Reason)
	}
	if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err == nil {
		t.Errorf("the container's process %d still runs after crictl stop", pid)
	}
	if out := n.crictl("ps", "-a"); !strings.Contains(out, "Exited") {
		t.Errorf("crictl ps -a after stop:\n%s", out)
	}

	n.crictl("rm", ctr)
	if out := n.crictl("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl ps -a after rm: %q", out)
	}
	n.crictl("stopp", pod)
	n.crictl("rmp", pod)
	for _, want := range []string{"CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"} {
		eventually(t, 10*time.Second, "crictl events shows "+want+" of the container", func() (bool, string) {
			out := events()
			dec := json.NewDecoder(strings.NewReader(out))
			for {
				var ev struct {
					ContainerID string `json:"containerId"`
					Type        string `json:"containerEventType"`
				}
				if dec.Decode(&ev) != nil {
					return false, out
				}
				if ev.ContainerID == ctr && ev.Type == want {
					return true, ""
				}
			}
		})
	}
	if out := n.crictl("pods", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl pods after rmp: %q", out)
	}
	if out := n.crictl("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl ps -a after rmp: %q", out)
	}
	n.assertPodGone(pod, ctr)
	n.assertNodeClean()

	n.crictl("rmi", ref)
	if out := n.crictl("images", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("crictl images after rmi: %q", out)
	}
}

// assertPodGone checks that no cgroup, network namespace file or mount
// of the pod and its containers is left.
func (n *runtimeNode) assertPodGone(pod string, ctrs ...string) {
	t := n.t
	t.Helper()
	if cg := cgroupDirs(filepath.Join(n.cgroupParent, pod)); len(cg) > 0 {
		t.Errorf("cgroups left: %s", fmtList(cg))
	}
	if _, err := os.Stat(filepath.Join(n.stateDir, "netns", pod)); err == nil {
		t.Errorf("network namespace file of %s left", pod)
	}
	for _, dir := range []string{n.root, n.stateDir} {
		for _, m := range mountsUnder(dir) {
			for _, id := range append([]string{pod}, ctrs...) {
				if strings.Contains(m, id) {
					t.Errorf("mount left: %s", m)
				}
			}
		}
	}
}

// assertNodeClean checks, once every pod is removed, that no mount, veth
// or container process is left on the node.
func (n *runtimeNode) assertNodeClean() {
	t := n.t
	t.Helper()
	for _, dir := range []string{n.root, n.stateDir} {
		if m := mountsUnder(dir); len(m) > 0 {
			t.Errorf("mounts left under %s: %s", dir, fmtList(m))
		}
	}
	// A pod's host end is "veth" and hex digits of its id; the bridge's own
	// pair (kemudi0-up) stays.
	for _, line := range strings.Split(run(t, "nsenter", "--net="+n.netnsPath, "ip", "-o", "link", "show", "type", "veth"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], "veth") {
			t.Errorf("veth left in the node's namespace: %s", line)
		}
	}
	if cg := cgroupDirs(n.cgroupParent); len(cg) > 0 {
		for _, d := range cg {
			if ents, _ := os.ReadDir(d); hasDirs(ents) {
				t.Errorf("pod cgroups left in %s", d)
			}
		}
	}
}

func hasDirs(ents []os.DirEntry) bool {
	for _, e := range ents {
		if e.IsDir() {
			return true
		}
	}
	return false
}

// TestRuntimeRestart: containers keep running when the runtime is killed
// with SIGKILL; the restarted runtime lists them Running with their
// original start times, and stops them.
func TestRuntimeRestart(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	n.crictl("pull", n.registry.Ref("busybox:1"))
	const pods = 20
	type started struct{ pod, ctr, startedAt string }
	var all []started
	for i := range pods {
		files := n.podAndContainer("restart-" + itoa(i))
		pod := strings.TrimSpace(n.crictl("runp", files.pod))
		ctr := strings.TrimSpace(n.crictl("create", pod, files.ctr, files.pod))
		n.crictl("start", ctr)
		var inspect struct {
			Status struct {
				StartedAt string `json:"startedAt"`
			} `json:"status"`
		}
		n.crictlJSON(&inspect, "inspect", ctr)
		all = append(all, started{pod, ctr, inspect.Status.StartedAt})
	}

	// One more container, that exits while the runtime is down.
	files := n.podAndContainer("exits-while-away")
	awayPod := strings.TrimSpace(n.crictl("runp", files.pod))
	awayCfg := n.writeJSON("away.json", map[string]any{
		"metadata": map[string]any{"name": "away"},
		"image":    map[string]any{"image": n.registry.Ref("busybox:1")},
		"command":  []string{"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 7"},
	})
	away := strings.TrimSpace(n.crictl("create", awayPod, awayCfg, files.pod))
	n.crictl("start", away)
	var awayInspect struct {
		Info struct {
			Pid    int    `json:"pid"`
			Rootfs string `json:"rootfs"`
		} `json:"info"`
	}
	n.crictlJSON(&awayInspect, "inspect", away)

	n.proc.Kill()
	// the container's root filesystem is mounted on the node: tell it to exit
	if err := os.WriteFile(filepath.Join(awayInspect.Info.Rootfs, "tmp", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the container exits while the runtime is down", func() (bool, string) {
		_, err := os.Stat(filepath.Join("/proc", itoa(awayInspect.Info.Pid)))
		return err != nil, "still running"
	})
	n.start()

	var exited struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
		} `json:"status"`
	}
	n.crictlJSON(&exited, "inspect", away)
	if exited.Status.State != "CONTAINER_EXITED" || exited.Status.ExitCode != 7 {
		t.Errorf("a container that exited while the runtime was down: %+v, want EXITED with 7", exited.Status)
	}
	n.crictl("rmp", "-f", awayPod)

	for _, s := range all {
		var inspect struct {
			Status struct {
				State     string `json:"state"`
				StartedAt string `json:"startedAt"`
			} `json:"status"`
		}
		n.crictlJSON(&inspect, "inspect", s.ctr)
		if inspect.Status.State != "CONTAINER_RUNNING" || inspect.Status.StartedAt != s.startedAt {
			t.Errorf("after restart, %s: state %s started %s, want RUNNING started %s", s.ctr[:13], inspect.Status.State, inspect.Status.StartedAt, s.startedAt)
		}
	}
	if out := n.crictl("ps"); strings.Count(out, "Running") != pods {
		t.Errorf("crictl ps after restart:\n%s", out)
	}
	for _, s := range all {
		n.crictl("stop", "-t", "10", s.ctr)
		n.crictl("rmp", "-f", s.pod)
		n.assertPodGone(s.pod, s.ctr)
	}
	n.assertNodeClean()
}

// TestRuntimeImageImport: `kemudi image import` loads a docker-archive
// without a registry; ls and rm see it.
func TestRuntimeImageImport(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "busybox.tar")
	f, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.DockerArchive(f, map[string]v1Image{"example.com/tools/busybox:imported": img}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	kemudi := func(args ...string) string {
		return run(t, n.bin, append([]string{"image", "--runtime-endpoint", n.sock}, args...)...)
	}
	if out := kemudi("import", tarball); !strings.Contains(out, "example.com/tools/busybox:imported") {
		t.Errorf("kemudi image import: %q", out)
	}
	if out := kemudi("ls"); !strings.Contains(out, "example.com/tools/busybox:imported") {
		t.Errorf("kemudi image ls:\n%s", out)
	}
	if out := n.crictl("images"); !strings.Contains(out, "example.com/tools/busybox") {
		t.Errorf("crictl images after import:\n%s", out)
	}
	kemudi("rm", "example.com/tools/busybox:imported")
	if out := kemudi("ls"); strings.Contains(out, "busybox") {
		t.Errorf("kemudi image ls after rm:\n%s", out)
	}
}

// TestRuntimeContainerExits: how containers end is reported as the kubelet
// needs it: exit codes, reasons (Completed, Error, OOMKilled), a start
// that fails, and a stop whose SIGTERM is ignored.
func TestRuntimeContainerExits(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	ref := n.registry.Ref("busybox:1")
	n.crictl("pull", ref)
	files := n.podAndContainer("exits")
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	type status struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
			Reason   string `json:"reason"`
			Message  string `json:"message"`
		} `json:"status"`
	}
	create := func(name string, command []string, memory int64) string {
		t.Helper()
		cfg := map[string]any{
			"metadata": map[string]any{"name": name},
			"image":    map[string]any{"image": ref},
			"command":  command,
			"log_path": name + ".log",
		}
		if memory > 0 {
			cfg["linux"] = map[string]any{"resources": map[string]any{"memory_limit_in_bytes": memory}}
		}
		return strings.TrimSpace(n.crictl("create", pod, n.writeJSON(name+".json", cfg), files.pod))
	}
	for _, tc := range []struct {
		name       string
		command    []string
		memory     int64
		wantExit   int
		wantReason string
	}{
		{"completes", []string{"true"}, 0, 0, "Completed"},
		{"fails", []string{"sh", "-c", "exit 3"}, 0, 3, "Error"},
		{"oom", []string{"sh", "-c", "head -c 200000000 /dev/zero | tail"}, 32 << 20, 137, "OOMKilled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctr := create(tc.name, tc.command, tc.memory)
			n.crictl("start", ctr)
			var st status
			eventually(t, 60*time.Second, tc.name+" exits", func() (bool, string) {
				n.crictlJSON(&st, "inspect", ctr)
				return st.Status.State == "CONTAINER_EXITED", st.Status.State
			})
			if st.Status.ExitCode != tc.wantExit || st.Status.Reason != tc.wantReason {
				t.Errorf("exit code %d reason %q, want %d %q", st.Status.ExitCode, st.Status.Reason, tc.wantExit, tc.wantReason)
			}
		})
	}
	t.Run("missing program", func(t *testing.T) {
		// libcontainer looks the program up when it creates the process, so
		// (unlike containerd, which creates the process at start) this fails
		// CreateContainer, with nothing left behind.
		cfg := map[string]any{"metadata": map[string]any{"name": "nope"}, "image": map[string]any{"image": ref}, "command": []string{"/no/such/program"}}
		out, err := n.tryCrictl("create", pod, n.writeJSON("nope.json", cfg), files.pod)
		if err == nil || !strings.Contains(out, `exec: \"/no/such/program\"`) {
			t.Errorf("crictl create of a missing program: err %v, output %q", err, out)
		}
		if out := n.crictl("ps", "-a", "--name", "nope", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("a failed create left a container: %q", out)
		}
	})
	t.Run("stop ignores SIGTERM", func(t *testing.T) {
		ctr := create("stubborn", []string{"sh", "-c", `trap "" TERM; echo trapped; while true; do sleep 0.2; done`}, 0)
		n.crictl("start", ctr)
		// A SIGTERM before the shell set its trap would end it at once.
		eventually(t, 30*time.Second, "the trap set", func() (bool, string) {
			out := n.crictl("logs", ctr)
			return strings.Contains(out, "trapped"), out
		})
		begin := time.Now()
		n.crictl("stop", "-t", "1", ctr)
		if took := time.Since(begin); took < time.Second {
			t.Errorf("stop took %s, less than its 1s timeout", took)
		}
		var st status
		n.crictlJSON(&st, "inspect", ctr)
		if st.Status.State != "CONTAINER_EXITED" || st.Status.ExitCode != 137 {
			t.Errorf("after stop: %+v, want exited with 137 (SIGKILL)", st.Status)
		}
	})
	t.Run("sandbox that cannot be made", func(t *testing.T) {
		bad := n.writeJSON("bad-pod.json", map[string]any{
			"metadata": map[string]any{"name": "bad", "namespace": "default", "uid": "uid-bad"},
			"linux":    map[string]any{"sysctls": map[string]string{"net.ipv4.no_such_sysctl": "1"}},
		})
		out, err := n.tryCrictl("runp", bad)
		if err == nil || !strings.Contains(out, "no_such_sysctl") {
			t.Errorf("crictl runp with an unknown sysctl: err %v, output %q", err, out)
		}
		if out := n.crictl("pods", "--name", "bad", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("a failed runp left a pod: %q", out)
		}
		if ents, _ := os.ReadDir(filepath.Join(n.stateDir, "netns")); len(ents) != 1 { // the exits pod's
			t.Errorf("network namespaces after a failed runp: %d, want 1", len(ents))
		}
	})
	n.crictl("rmp", "-f", pod)
	n.assertNodeClean()
}

// TestRuntimeMountsAndHostNetwork: bind mounts (read-only refused to
// write, read-write shared with the host), and a pod on the node's
// network that sees the node's interfaces and hosts file.
func TestRuntimeMountsAndHostNetwork(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	ref := n.registry.Ref("busybox:1")
	n.crictl("pull", ref)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "config"), []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := n.writeJSON("hostnet-pod.json", map[string]any{
		"metadata":      map[string]any{"name": "hostnet", "namespace": "default", "uid": "uid-hostnet"},
		"log_directory": filepath.Join(n.logDir, "hostnet"),
		"linux":         map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}}, // NODE
	})
	ctr := n.writeJSON("hostnet-ctr.json", map[string]any{
		"metadata": map[string]any{"name": "app"},
		"image":    map[string]any{"image": ref},
		"command": []string{"sh", "-c", `cat /ro/config; echo x > /ro/new 2>/dev/null && echo ro-writable || echo ro-refused; ` +
			`echo from-the-container > /rw/out; echo shm-shared > /dev/shm/marker; cat /proc/net/dev; sleep 3600`},
		"log_path": "app.log",
		"mounts": []map[string]any{
			{"container_path": "/ro", "host_path": ro, "readonly": true},
			{"container_path": "/rw", "host_path": rw},
		},
		"linux": map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}},
	})
	podID := strings.TrimSpace(n.crictl("runp", pod))
	ctrID := strings.TrimSpace(n.crictl("create", podID, ctr, pod))
	n.crictl("start", ctrID)
	eventually(t, 30*time.Second, "the container's output", func() (bool, string) {
		out, _ := n.tryCrictl("logs", ctrID)
		return strings.Contains(out, "from-the-host") && strings.Contains(out, "ro-refused") && strings.Contains(out, "kemudi0"), out
	})
	// A second container of the pod sees the first one's /dev/shm.
	second := n.writeJSON("second-ctr.json", map[string]any{
		"metadata": map[string]any{"name": "second"},
		"image":    map[string]any{"image": ref},
		"command":  []string{"sh", "-c", "cat /dev/shm/marker; sleep 3600"},
		"log_path": "second.log",
		"linux":    map[string]any{"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}},
	})
	secondID := strings.TrimSpace(n.crictl("create", podID, second, pod))
	n.crictl("start", secondID)
	eventually(t, 30*time.Second, "the second container reads the pod's /dev/shm", func() (bool, string) {
		out, _ := n.tryCrictl("logs", secondID)
		return strings.Contains(out, "shm-shared"), out
	})
	b, err := os.ReadFile(filepath.Join(rw, "out"))
	if err != nil || string(b) != "from-the-container\n" {
		t.Errorf("read-write mount: host sees %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("the read-only mount was written")
	}
	var inspectp struct {
		Status struct {
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
	}
	n.crictlJSON(&inspectp, "inspectp", podID)
	if inspectp.Status.Network.IP != "" {
		t.Errorf("a pod on the node's network got an address of its own: %s", inspectp.Status.Network.IP)
	}
	n.crictl("rmp", "-f", podID)
	n.assertPodGone(podID, ctrID, secondID)
	n.assertNodeClean()
}
