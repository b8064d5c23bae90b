package policy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestAuditAnnotations: a binding with the Audit action and a policy's
// auditAnnotations write upstream's annotations into the audit event of
// the request, which is allowed.
func TestAuditAnnotations(t *testing.T) {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "audit.log")
	s := clustertest.Start(t, func(o *cluster.ServerOptions) {
		o.Audit = cluster.AuditOptions{PolicyFile: policyFile}
		o.Audit.Path = logPath
	})
	if out, err := apply(t, s, strings.NewReplacer("[Deny]", "[Audit]", "environment: test", "environment: audited",
		"  - expression: \"object.spec.replicas <= 5\"\n",
		"  - expression: \"object.spec.replicas <= 5\"\n  auditAnnotations:\n  - key: replicas\n    valueExpression: \"'replicas: ' + string(object.spec.replicas)\"\n").Replace(demoPolicy)); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	s.MustKubectl("create", "namespace", "audited")
	s.MustKubectl("label", "namespace", "audited", "environment=audited")

	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		name := "web" + strings.Repeat("x", i)
		s.MustKubectl("-n", "audited", "create", "deployment", name, "--image=x", "--replicas=6")
		ann := annotationsOf(t, logPath, i+1)
		failure, value := ann["validation.policy.admission.k8s.io/validation_failure"], ann["demo-policy.example.com/replicas"]
		if failure != "" {
			want := `[{"message":"failed expression: object.spec.replicas \u003c= 5","policy":"demo-policy.example.com","binding":"demo-binding-test.example.com","expressionIndex":0,"validationActions":["Audit"]}]`
			if failure != want {
				t.Errorf("validation_failure %s\nwant %s", failure, want)
			}
			if value != "replicas: 6" {
				t.Errorf("audit annotation %q, want %q", value, "replicas: 6")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no validation_failure annotation in the audit log; last event's annotations: %v", ann)
		}
	}
}

// annotationsOf returns the annotations of the n-th (from 1) create of
// a deployment in the audit log, waiting for it to be written.
func annotationsOf(t *testing.T, path string, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(path)
		seen := 0
		for _, line := range strings.Split(string(data), "\n") {
			var ev struct {
				Verb        string                     `json:"verb"`
				Stage       string                     `json:"stage"`
				ObjectRef   *struct{ Resource string } `json:"objectRef"`
				Annotations map[string]string          `json:"annotations"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil || ev.Verb != "create" || ev.Stage != "ResponseComplete" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "deployments" {
				continue
			}
			if seen++; seen == n {
				return ev.Annotations
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no audit event for deployment create %d", n)
	return nil
}
