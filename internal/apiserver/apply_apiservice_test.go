package apiserver_test

import (
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestServerSideApplyAPIService: APIServices are applied with their
// fields typed (apiregistration's schema, not deduced): kubectl applies
// one twice, its managed fields name spec's fields, and a second manager
// changing a field kubectl owns conflicts.
func TestServerSideApplyAPIService(t *testing.T) {
	s := clustertest.Start(t)
	manifest := func(priority string) string {
		return "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata:\n  name: v1alpha1.wardle.example.com\nspec:\n" +
			"  group: wardle.example.com\n  version: v1alpha1\n  groupPriorityMinimum: " + priority + "\n  versionPriority: 15\n" +
			"  insecureSkipTLSVerify: true\n  service: {namespace: default, name: api, port: 443}\n"
	}
	for _, p := range []string{"1000", "2000"} {
		out, err := s.KubectlStdin(strings.NewReader(manifest(p)), "apply", "--server-side", "-f", "-")
		if err != nil || !strings.Contains(out, "serverside-applied") {
			t.Fatalf("kubectl apply --server-side (priority %s): %q %v", p, out, err)
		}
	}
	name := "apiservice/v1alpha1.wardle.example.com"
	if p := s.MustKubectl("get", name, "-o", "jsonpath={.spec.groupPriorityMinimum}"); p != "2000" {
		t.Errorf("groupPriorityMinimum %s, want 2000", p)
	}
	mf := s.MustKubectl("get", name, "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[?(@.manager==\"kubectl\")].fieldsV1}")
	if !strings.Contains(mf, `"f:groupPriorityMinimum"`) {
		t.Fatalf("kubectl's managed fields %s, want spec.groupPriorityMinimum", mf)
	}
	out, err := s.KubectlStdin(strings.NewReader(manifest("3000")), "apply", "--server-side", "--field-manager=other", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "Apply failed with 1 conflict") {
		t.Errorf("another manager changing kubectl's field: %q %v, want a conflict", out, err)
	}
}
