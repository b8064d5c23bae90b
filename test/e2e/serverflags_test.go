package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// kubectl runs the built-in kubectl against srv.
func kubectl(t *testing.T, bin string, srv *harness.Server, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"kubectl", "--kubeconfig", srv.Kubeconfig}, args...)...)
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestServerFlags: what --gc-percent (or GOGC, which wins) and
// --managed-fields set is what a user sees in /metrics and in objects.
func TestServerFlags(t *testing.T) {
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		args          []string
		gogc          string // the environment's GOGC, if set
		wantGOGC      string
		managedFields bool
	}{
		{name: "defaults", wantGOGC: "150"},
		{name: "flags", args: []string{"--gc-percent", "200", "--managed-fields", "always"}, wantGOGC: "200", managedFields: true},
		{name: "GOGC wins", args: []string{"--gc-percent", "200"}, gogc: "80", wantGOGC: "80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.gogc != "" {
				t.Setenv("GOGC", tt.gogc)
			} else if v, ok := os.LookupEnv("GOGC"); ok {
				t.Setenv("GOGC", v)
				os.Unsetenv("GOGC")
			}
			srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Role: "apiserver", Args: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)

			metrics := kubectl(t, bin, srv, "get", "--raw", "/metrics")
			if !strings.Contains(metrics, "\ngo_gc_gogc_percent "+tt.wantGOGC+"\n") {
				i := strings.Index(metrics, "go_gc_gogc_percent ")
				t.Errorf("want go_gc_gogc_percent %s; /metrics has %q", tt.wantGOGC, metrics[max(i, 0):min(max(i, 0)+30, len(metrics))])
			}

			kubectl(t, bin, srv, "create", "configmap", "settings", "--from-literal=a=b")
			out := kubectl(t, bin, srv, "get", "configmap", "settings", "-o", "yaml", "--show-managed-fields")
			if got := strings.Contains(out, "managedFields:"); got != tt.managedFields {
				t.Errorf("managedFields recorded on create: %v, want %v:\n%s", got, tt.managedFields, out)
			}
		})
	}
}
