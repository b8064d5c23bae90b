package e2e

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamCrictl is crictl run inside the node's network namespace, where
// the runtime's streaming server listens on loopback.
func (n *runtimeNode) streamCrictl(args ...string) *exec.Cmd {
	full := append([]string{"--net=" + n.netnsPath, n.crictlBin, "--config", n.crictlConfig,
		"--runtime-endpoint", "unix://" + n.sock, "--timeout", "60s"}, args...)
	return exec.Command("nsenter", full...)
}

// inTerminal runs cmd under script(1), which gives it a terminal (crictl
// exec -it wants one); each argument is quoted, so that a command line
// meant for the container is not run by script's own shell.
func inTerminal(cmd *exec.Cmd) *exec.Cmd {
	quoted := make([]string, len(cmd.Args))
	for i, a := range cmd.Args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return exec.Command("script", "-qfec", strings.Join(quoted, " "), "/dev/null")
}

// lockedBuffer is written by a command and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRuntimeStreaming drives exec (sync, streaming, -i, -it), attach and
// port-forward through crictl against `kemudi runtime`.
func TestRuntimeStreaming(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	n.crictl("pull", n.registry.Ref("busybox:1"))
	files := n.podAndContainer("stream")
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	ctr := n.writeJSON("stream-echo.json", map[string]any{
		"metadata": map[string]any{"name": "echo"},
		"image":    map[string]any{"image": n.registry.Ref("busybox:1")},
		"command":  []string{"sh", "-c", `httpd -p 8080 -h /etc; while read l; do echo "got $l"; echo "err $l" >&2; done`},
		"stdin":    true,
		"log_path": "echo.log",
	})
	id := strings.TrimSpace(n.crictl("create", pod, ctr, files.pod))
	n.crictl("start", id)

	t.Run("exec", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			args     []string
			stdin    string
			want     []string
			wantFail bool // crictl fails, naming the exit code in its message
		}{
			{name: "sync", args: []string{"exec", "-s", id, "sh", "-c", "echo sync-out; exit 0"}, want: []string{"sync-out"}},
			{name: "sync exit code", args: []string{"exec", "-s", id, "sh", "-c", "echo e >&2; exit 4"}, want: []string{"exited with 4: e"}, wantFail: true},
			{name: "sync timeout", args: []string{"exec", "-s", "--timeout", "1", id, "sleep", "30"}, want: []string{"DeadlineExceeded"}, wantFail: true},
			{name: "stream stdout and stderr", args: []string{"exec", id, "sh", "-c", "echo out; echo err >&2"}, want: []string{"out", "err"}},
			{name: "stream exit code", args: []string{"exec", id, "sh", "-c", "exit 3"}, want: []string{"exit code 3"}, wantFail: true},
			{name: "stdin", args: []string{"exec", "-i", id, "sh", "-c", "read x; echo read:$x"}, stdin: "abc\n", want: []string{"read:abc"}},
			{name: "transport websocket", args: []string{"exec", "--transport", "websocket", "-i", id, "cat"}, stdin: "over-ws\n", want: []string{"over-ws"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cmd := n.streamCrictl(tc.args...)
				cmd.Stdin = strings.NewReader(tc.stdin)
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("crictl: %v", err)
				}
				if (err != nil) != tc.wantFail {
					t.Errorf("crictl: err %v, want failure %v; output %q", err, tc.wantFail, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(string(out), w) {
						t.Errorf("output %q lacks %q", out, w)
					}
				}
			})
		}
	})

	t.Run("exec -it", func(t *testing.T) {
		out, err := inTerminal(n.streamCrictl("exec", "-it", id, "sh", "-c", "tty; echo $((6*7))")).CombinedOutput()
		if err != nil {
			t.Fatalf("crictl exec -it: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "42") {
			t.Errorf("crictl exec -it output %q, want a terminal and 42", out)
		}
	})

	t.Run("attach", func(t *testing.T) {
		cmd := n.streamCrictl("attach", "-i", id)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// Until the attachment is up, lines may go unseen: send until one is.
		eventually(t, 30*time.Second, "attached output", func() (bool, string) {
			io.WriteString(stdin, "ping\n")
			s := out.String()
			return strings.Contains(s, "got ping") && strings.Contains(s, "err ping"), s
		})
		if logs := n.crictl("logs", id); !strings.Contains(logs, "got ping") {
			t.Errorf("crictl logs after attach lacks the attached output:\n%s", logs)
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		cmd := n.streamCrictl("port-forward", pod, "18080:8080")
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		eventually(t, 30*time.Second, "a page through the forwarded port", func() (bool, string) {
			get := exec.Command("nsenter", "--net="+n.netnsPath, "busybox", "wget", "-q", "-O-", "http://127.0.0.1:18080/hostname")
			page, err := get.CombinedOutput()
			return err == nil && strings.TrimSpace(string(page)) == "stream", string(page) + " / crictl: " + out.String()
		})
	})

	t.Run("errors", func(t *testing.T) {
		if out, err := n.tryCrictl("exec", "-s", "deadbeef", "true"); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("exec in an unknown container: err %v, output %q", err, out)
		}
	})
	n.crictl("rmp", "-f", pod)
}
