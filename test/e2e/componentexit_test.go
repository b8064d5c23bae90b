package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// TestComponentsGiveUpOnUnreachableAPI: a component whose API server
// does not answer says so while it waits, and after a minute exits
// non-zero with a one-line reason instead of waiting silently forever.
func TestComponentsGiveUpOnUnreachableAPI(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on.
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`, server)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"controller-manager", "scheduler"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			cmd := exec.Command(bin, command, "--kubeconfig", kubeconfig)
			cmd.WaitDelay = time.Second
			var out procLog
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(3 * time.Minute):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running after 3 minutes; output:\n%s", lastLines(out.String(), 20))
			}
			took := time.Since(start)
			exit, ok := err.(*exec.ExitError)
			if !ok || exit.ExitCode() <= 0 {
				t.Fatalf("exit: %v, want non-zero; output:\n%s", err, lastLines(out.String(), 20))
			}
			if took < time.Minute {
				t.Errorf("gave up after %s, before the minute it waits", took.Round(time.Second))
			}
			s := out.String()
			if !strings.Contains(s, `level=WARN msg="waiting for the API server" server=`+server) {
				t.Errorf("no warning while waiting; output:\n%s", lastLines(s, 20))
			}
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			last := lines[len(lines)-1]
			want := "Error: API server " + server + " did not answer within 1m0s: "
			if !strings.HasPrefix(last, want) || !strings.Contains(last, "connection refused") {
				t.Errorf("last line %q, want %q... connection refused", last, want)
			}
		})
	}
}
