package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// helmInstall is how .ci/run installs helm.
const helmInstall = "go install helm.sh/helm/v4/cmd/helm@v4.3.2"

// TestHelmChartWithCRD: Helm installs a chart whose crds/ folder holds a
// CustomResourceDefinition and whose templates make an object of it,
// upgrades it, and uninstalls it, as a user would against kemudi server;
// the CRD stays after uninstall (Helm never deletes CRDs) and a value
// that breaks the schema fails the upgrade with the API's message.
func TestHelmChartWithCRD(t *testing.T) {
	t.Parallel()
	helm := testimages.GoTool(t, "helm", helmInstall)
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	home := t.TempDir()
	run := func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, helm, append(args, "--kubeconfig", srv.Kubeconfig)...)
		cmd.Env = append(cmd.Environ(), "HOME="+home, "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
			"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	chart := filepath.Join("testdata", "helm", "crontab")

	if out := must("install", "demo", chart, "--wait", "--timeout", "60s"); !strings.Contains(out, "STATUS: deployed") {
		t.Errorf("helm install:\n%s", out)
	}
	if out := kubectl(t, bin, srv, "get", "crd", "crontabs.stable.example.com"); !strings.Contains(out, "crontabs.stable.example.com") {
		t.Errorf("kubectl get crd:\n%s", out)
	}
	out := kubectl(t, bin, srv, "get", "crontabs")
	if !strings.Contains(out, "SPEC") || !strings.Contains(out, "demo-crontab") || !strings.Contains(out, "* * * * */5") {
		t.Errorf("kubectl get crontabs after install:\n%s", out)
	}

	must("upgrade", "demo", chart, "--set", "cronSpec=*/10 * * * *", "--set", "replicas=3")
	if got := kubectl(t, bin, srv, "get", "ct", "demo-crontab", "-o", "jsonpath={.spec.cronSpec} {.spec.replicas}"); got != "*/10 * * * * 3" {
		t.Errorf("after upgrade: %q", got)
	}
	if out := must("list"); !strings.Contains(out, "demo") || !strings.Contains(out, "deployed") || !strings.Contains(out, "\t2 ") {
		t.Errorf("helm list after upgrade:\n%s", out)
	}

	// The schema's maximum is 10: the API refuses, naming the field, and
	// the release stays at revision 2.
	out, err = run("upgrade", "demo", chart, "--set", "replicas=11")
	if err == nil || !strings.Contains(out, "spec.replicas") || !strings.Contains(out, "should be less than or equal to 10") {
		t.Errorf("upgrade past the schema: %v\n%s", err, out)
	}
	if got := kubectl(t, bin, srv, "get", "ct", "demo-crontab", "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Errorf("replicas after the refused upgrade: %q", got)
	}

	must("uninstall", "demo", "--wait")
	if out := kubectl(t, bin, srv, "get", "crontabs,configmaps", "-l", "app.kubernetes.io/instance=demo", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("left after uninstall:\n%s", out)
	}
	if out := kubectl(t, bin, srv, "get", "configmap", "demo-settings", "--ignore-not-found", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("config map left after uninstall: %s", out)
	}
	if out := kubectl(t, bin, srv, "get", "crd", "-o", "name"); !strings.Contains(out, "crontabs.stable.example.com") {
		t.Errorf("the CRD went with the release:\n%s", out)
	}
}
