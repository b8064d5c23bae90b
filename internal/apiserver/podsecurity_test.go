package apiserver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// kubectlAll runs kubectl and returns what it printed on both streams
// (kubectl prints the API's warnings on stderr, also when it succeeds).
func kubectlAll(t *testing.T, s *clustertest.Server, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(clustertest.Binary(t), append([]string{"kubectl", "--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+s.DataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestKubectlPodSecurity is the user story for Pod Security, with
// the real kubectl: a restricted namespace refuses a privileged pod with
// upstream's message and stores nothing; warn labels and pod controllers
// warn; tightening a namespace warns about the pods already in it; an
// AdmissionConfiguration exempts a namespace.
func TestKubectlPodSecurity(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: privileged
      warn: baseline
    exemptions:
      namespaces: [trusted]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.AdmissionControlConfigFile = config })
	ctx := context.Background()
	for _, ns := range []string{"team-a", "team-b", "trusted"} {
		s.MustKubectl("create", "ns", ns)
	}

	s.MustKubectl("label", "ns", "team-a", "pod-security.kubernetes.io/enforce=restricted")
	out, err := kubectlAll(t, s, "-n", "team-a", "run", "bad", "--image=x", "--privileged")
	want := `Error from server (Forbidden): pods "bad" is forbidden: violates PodSecurity "restricted:latest": privileged (container "bad" must not set securityContext.privileged=true), allowPrivilegeEscalation != false`
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("privileged pod in restricted namespace: %v\n%s\nwant %s", err, out, want)
	}
	if _, err := s.Client.CoreV1().Pods("team-a").Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused pod was stored: %v", err)
	}

	// The configured default warns at baseline where no label says more.
	out, err = kubectlAll(t, s, "-n", "team-b", "run", "loud", "--image=x", "--privileged")
	if err != nil || !strings.Contains(out, `Warning: would violate PodSecurity "baseline:latest": privileged (container "loud" must not set securityContext.privileged=true)`) {
		t.Errorf("privileged pod under the default warn level: %v\n%s", err, out)
	}

	// A deployment is warned about, not refused: its pods would be.
	s.MustKubectl("label", "ns", "team-b", "pod-security.kubernetes.io/warn=restricted")
	out, err = kubectlAll(t, s, "-n", "team-b", "create", "deployment", "web", "--image=x")
	if err != nil || !strings.Contains(out, `Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false)`) {
		t.Errorf("deployment in a warn=restricted namespace: %v\n%s", err, out)
	}

	// Tightening the namespace names the pods that would not be admitted
	// now, on a dry run as on the real change.
	for _, dry := range []string{"--dry-run=server", "--overwrite"} {
		out, err = kubectlAll(t, s, "label", "ns", "team-b", "pod-security.kubernetes.io/enforce=baseline", dry)
		if err != nil || !strings.Contains(out, `Warning: existing pods in namespace "team-b" violate the new PodSecurity enforce level "baseline:latest"`) ||
			!strings.Contains(out, "Warning: loud: privileged") {
			t.Errorf("label %s: %v\n%s", dry, err, out)
		}
	}

	// A label that is not a level is refused, and not stored.
	out, err = kubectlAll(t, s, "label", "ns", "team-b", "pod-security.kubernetes.io/audit=strict")
	if err == nil || !strings.Contains(out, `The Namespace "team-b" is invalid: metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "strict": must be one of privileged, baseline, restricted`) {
		t.Errorf("bad level: %v\n%s", err, out)
	}
	if ns, _ := s.Client.CoreV1().Namespaces().Get(ctx, "team-b", metav1.GetOptions{}); ns.Labels["pod-security.kubernetes.io/audit"] != "" {
		t.Errorf("the bad label was stored: %v", ns.Labels)
	}

	// An exempt namespace takes anything, and says its labels are ignored.
	out, err = kubectlAll(t, s, "label", "ns", "trusted", "pod-security.kubernetes.io/enforce=restricted")
	if err != nil || !strings.Contains(out, `Warning: namespace "trusted" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored`) {
		t.Errorf("labelling an exempt namespace: %v\n%s", err, out)
	}
	if out, err := kubectlAll(t, s, "-n", "trusted", "run", "root", "--image=x", "--privileged"); err != nil || strings.Contains(out, "Warning") {
		t.Errorf("privileged pod in an exempt namespace: %v\n%s", err, out)
	}

	// /metrics counts the refusal and the exemption under upstream's names.
	metrics := s.MustKubectl("get", "--raw", "/metrics")
	for _, line := range []string{
		`pod_security_evaluations_total{decision="deny",mode="enforce",policy_level="restricted",policy_version="latest",request_operation="create",resource="pod",subresource=""} 1`,
		`pod_security_exemptions_total{request_operation="create",resource="pod",subresource=""} 1`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
