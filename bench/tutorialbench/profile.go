package tutorialbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// profileSeconds is how long a cold round's CPU profile records: a cold
// round takes 3–10 s on this machine.
const profileSeconds = 8

// startProfile records `kemudi server`'s CPU profile for profileSeconds
// into $KEMUDI_BENCH_PROFILE_DIR/<name>.pprof, through the API server's
// /debug/pprof, when that variable is set; wait returns once it is
// written (at once when not profiling).
func (n *Node) startProfile(ctx context.Context, name string) (wait func() error) {
	dir := os.Getenv("KEMUDI_BENCH_PROFILE_DIR")
	if dir == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		f, err := os.Create(filepath.Join(dir, name+".pprof"))
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		cmd := exec.CommandContext(ctx, "nsenter", "--net="+n.NetnsPath, n.Bin, "kubectl", "get", "--raw",
			fmt.Sprintf("/debug/pprof/profile?seconds=%d", profileSeconds))
		cmd.Env = []string{"HOME=" + n.Home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + n.Kubeconfig}
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = f, &stderr
		if err := cmd.Run(); err != nil {
			done <- fmt.Errorf("profile %s: %w %s", name, err, stderr.String())
			return
		}
		done <- nil
	}()
	return func() error { return <-done }
}
