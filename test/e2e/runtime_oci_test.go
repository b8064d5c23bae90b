package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRuntimeOCIRuntime: `kemudi runtime --oci-runtime /usr/bin/runc`
// runs a pod's containers with runc's command line instead of the
// built-in libcontainer, and crictl sees no difference: logs, exit codes,
// OOMKilled, a termination message file, exec with and without a
// terminal, update of the memory limit, stop's SIGKILL after its
// timeout, and a container that exits while the runtime is down.
func TestRuntimeOCIRuntime(t *testing.T) {
	t.Parallel()
	const runc = "/usr/bin/runc"
	if _, err := os.Stat(runc); err != nil {
		t.Skip("runc is not installed (apt-get install runc)")
	}
	n := newRuntimeNode(t, "--oci-runtime", runc)
	ref := n.registry.Ref("busybox:1")
	n.crictl("pull", ref)
	if out := n.crictl("info"); !strings.Contains(out, runc) {
		t.Errorf("crictl info does not name %s:\n%s", runc, out)
	}
	files := n.podAndContainer("oci")
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	ctr := strings.TrimSpace(n.crictl("create", pod, files.ctr, files.pod))
	n.crictl("start", ctr)
	// runc, not the supervisor's libcontainer, holds the container.
	if _, err := os.Stat(filepath.Join(n.root, "supervisor", "oci", "state", ctr, "state.json")); err != nil {
		t.Errorf("runc's state of the container: %v", err)
	}
	eventually(t, 30*time.Second, "the container's log", func() (bool, string) {
		out, _ := n.tryCrictl("logs", ctr)
		return strings.Contains(out, "hello from oci as 65534") && strings.Contains(out, "NoNewPrivs:\t1"), out
	})

	t.Run("exec", func(t *testing.T) {
		if out := n.crictl("exec", "-s", ctr, "sh", "-c", "echo $((6*7)) $(id -u)"); strings.TrimSpace(out) != "42 65534" {
			t.Errorf("crictl exec -s: %q, want 42 65534", out)
		}
		out, err := n.streamCrictl("exec", ctr, "sh", "-c", "echo out; exit 3").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "out") || !strings.Contains(string(out), "exit code 3") {
			t.Errorf("crictl exec with exit code 3: %v\n%s", err, out)
		}
		out, err = inTerminal(n.streamCrictl("exec", "-it", ctr, "sh", "-c", "tty; stty size")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "/dev/pts/") {
			t.Errorf("crictl exec -it: %v, output %q, want a terminal", err, out)
		}
	})

	t.Run("update", func(t *testing.T) {
		n.crictl("update", "--memory", "100663296", ctr)
		limit := filepath.Join("/sys/fs/cgroup/memory", n.cgroupParent, pod, ctr, "memory.limit_in_bytes")
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			limit = filepath.Join("/sys/fs/cgroup", n.cgroupParent, pod, ctr, "memory.max")
		}
		if b, err := os.ReadFile(limit); err != nil || strings.TrimSpace(string(b)) != "100663296" {
			t.Errorf("memory limit after crictl update: %q (%v), want 100663296", b, err)
		}
	})

	type status struct {
		Status struct {
			State    string `json:"state"`
			ExitCode int    `json:"exitCode"`
			Reason   string `json:"reason"`
		} `json:"status"`
	}
	create := func(name string, cfg map[string]any) string {
		t.Helper()
		cfg["metadata"] = map[string]any{"name": name}
		cfg["image"] = map[string]any{"image": ref}
		cfg["log_path"] = name + ".log"
		return strings.TrimSpace(n.crictl("create", pod, n.writeJSON(name+".json", cfg), files.pod))
	}
	exited := func(t *testing.T, ctr string) status {
		var st status
		eventually(t, 60*time.Second, "the container exits", func() (bool, string) {
			n.crictlJSON(&st, "inspect", ctr)
			return st.Status.State == "CONTAINER_EXITED", st.Status.State
		})
		return st
	}
	t.Run("exits", func(t *testing.T) {
		msg := filepath.Join(t.TempDir(), "termination-log")
		if err := os.WriteFile(msg, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name       string
			cfg        map[string]any
			wantExit   int
			wantReason string
		}{
			{"fails", map[string]any{
				"command": []string{"sh", "-c", "echo bye > /dev/termination-log; exit 3"},
				"mounts":  []map[string]any{{"container_path": "/dev/termination-log", "host_path": msg}},
			}, 3, "Error"},
			{"oom", map[string]any{
				"command": []string{"sh", "-c", "head -c 200000000 /dev/zero | tail"},
				"linux":   map[string]any{"resources": map[string]any{"memory_limit_in_bytes": 32 << 20}},
			}, 137, "OOMKilled"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := create(tc.name, tc.cfg)
				n.crictl("start", c)
				if st := exited(t, c); st.Status.ExitCode != tc.wantExit || st.Status.Reason != tc.wantReason {
					t.Errorf("exit code %d reason %q, want %d %q", st.Status.ExitCode, st.Status.Reason, tc.wantExit, tc.wantReason)
				}
			})
		}
		if b, _ := os.ReadFile(msg); string(b) != "bye\n" {
			t.Errorf("termination message file: %q, want bye", b)
		}
	})

	t.Run("stop ignores SIGTERM", func(t *testing.T) {
		c := create("stubborn", map[string]any{"command": []string{"sh", "-c", `trap "" TERM; echo trapped; while true; do sleep 0.2; done`}})
		n.crictl("start", c)
		// A SIGTERM before the shell set its trap would end it at once.
		eventually(t, 30*time.Second, "the trap set", func() (bool, string) {
			out := n.crictl("logs", c)
			return strings.Contains(out, "trapped"), out
		})
		begin := time.Now()
		n.crictl("stop", "-t", "1", c)
		if took := time.Since(begin); took < time.Second {
			t.Errorf("stop took %s, less than its 1s timeout", took)
		}
		var st status
		n.crictlJSON(&st, "inspect", c)
		if st.Status.State != "CONTAINER_EXITED" || st.Status.ExitCode != 137 {
			t.Errorf("after stop: %+v, want exited with 137 (SIGKILL)", st.Status)
		}
	})

	t.Run("exit while the runtime is down", func(t *testing.T) {
		away := create("away", map[string]any{"command": []string{"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 7"}})
		n.crictl("start", away)
		var info struct {
			Info struct {
				Pid    int    `json:"pid"`
				Rootfs string `json:"rootfs"`
			} `json:"info"`
		}
		n.crictlJSON(&info, "inspect", away)
		n.proc.Kill()
		if err := os.WriteFile(filepath.Join(info.Info.Rootfs, "tmp", "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the container exits while the runtime is down", func() (bool, string) {
			_, err := os.Stat(filepath.Join("/proc", itoa(info.Info.Pid)))
			return err != nil, "still running"
		})
		n.start()
		var st status
		n.crictlJSON(&st, "inspect", away)
		if st.Status.State != "CONTAINER_EXITED" || st.Status.ExitCode != 7 {
			t.Errorf("a container that exited while the runtime was down: %+v, want EXITED with 7", st.Status)
		}
		n.crictlJSON(&st, "inspect", ctr)
		if st.Status.State != "CONTAINER_RUNNING" {
			t.Errorf("the pod's first container after the restart: %s, want running", st.Status.State)
		}
	})

	n.crictl("stop", "-t", "10", ctr)
	n.crictl("rmp", "-f", pod)
	n.assertPodGone(pod, ctr)
	if ents, _ := os.ReadDir(filepath.Join(n.root, "supervisor", "oci", "state")); len(ents) > 0 {
		t.Errorf("runc's state left after the pod's removal: %d containers", len(ents))
	}
	n.assertNodeClean()
}
