package apiserver_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// eventually retries f until it succeeds or the deadline passes.
func eventually(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func applyFile(t *testing.T, s *clustertest.Server, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := s.KubectlStdin(f, "apply", "-f", "-")
	if err != nil {
		t.Fatalf("apply %s: %v", path, err)
	}
	return out
}

func TestKubectlCustomResources(t *testing.T) {
	s := clustertest.Start(t)
	if out := applyFile(t, s, "testdata/crontab-crd.yaml"); !strings.Contains(out, "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created") {
		t.Fatalf("apply CRD: %q", out)
	}
	s.MustKubectl("wait", "--for=condition=Established", "--timeout=10s", "crd/crontabs.stable.example.com")
	conds := s.MustKubectl("get", "crd", "crontabs.stable.example.com", "-o", `jsonpath={range .status.conditions[*]}{.type}={.status}/{.reason} {end}`)
	for _, want := range []string{"NamesAccepted=True/NoConflicts", "Established=True/InitialNamesAccepted"} {
		if !strings.Contains(conds, want) {
			t.Errorf("conditions %q lack %q", conds, want)
		}
	}
	out := s.MustKubectl("get", "crd")
	if h := header(out); h != "NAME CREATED AT" {
		t.Errorf("get crd header %q", h)
	}
	if _, ok := rows(out)["crontabs.stable.example.com"]; !ok {
		t.Errorf("get crd: %q", out)
	}
	out = s.MustKubectl("api-resources", "--api-group=stable.example.com")
	if r := rows(out)["crontabs"]; strings.Join(r, " ") != "crontabs ct stable.example.com/v1 true CronTab" {
		t.Errorf("api-resources: %q", out)
	}

	if out := applyFile(t, s, "testdata/my-crontab.yaml"); !strings.Contains(out, "crontab.stable.example.com/my created") {
		t.Fatalf("apply CR: %q", out)
	}
	out = s.MustKubectl("get", "crontabs", "-o", "wide")
	if h := header(out); h != "NAME SPEC REPLICAS IMAGE AGE" {
		t.Errorf("get crontabs -o wide header %q", h)
	}
	if r := rows(out)["my"]; len(r) != 9 || r[1] != "*" || r[6] != "1" || r[7] != "my-awesome-cron-image" {
		t.Errorf("crontab row %v in %q", r, out)
	}
	if out := s.MustKubectl("get", "ct"); !strings.Contains(out, "my ") {
		t.Errorf("get ct: %q", out)
	}
	if out := s.MustKubectl("get", "all"); !strings.Contains(out, "crontab.stable.example.com/my") {
		t.Errorf("get all lacks the crontab: %q", out)
	}

	s.MustKubectl("scale", "crontab", "my", "--replicas=3")
	if out := s.MustKubectl("get", "crontab", "my", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"); out != "3 2" {
		t.Errorf("after scale: replicas and generation %q, want 3 2", out)
	}
	s.MustKubectl("patch", "crontab", "my", "--subresource=status", "--type=merge", "-p", `{"status":{"replicas":3,"labelSelector":"app=cron"},"spec":{"replicas":9}}`)
	s.MustKubectl("patch", "crontab", "my", "--type=merge", "-p", `{"status":{"replicas":7}}`)
	// kubectl's default patch is a strategic merge, which a custom
	// resource does not take: upstream's 415, its message as kubectl
	// shows it.
	if out, err := s.Kubectl("patch", "crontab", "my", "-p", `{"spec":{"replicas":5}}`); err == nil ||
		!strings.Contains(err.Error()+out, "application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml") {
		t.Errorf("strategic merge patch of a crontab: %v %s", err, out)
	}
	if out := s.MustKubectl("get", "crontab", "my", "-o", "jsonpath={.spec.replicas} {.status.replicas} {.metadata.generation}"); out != "3 3 2" {
		t.Errorf("after status patches: spec, status replicas and generation %q, want 3 3 2", out)
	}
	if out := s.MustKubectl("get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs/my/scale"); !strings.Contains(out, `"selector":"app=cron"`) || !strings.Contains(out, `"replicas":3`) {
		t.Errorf("scale: %s", out)
	}
	if out := s.MustKubectl("get", "crontabs.v1beta1.stable.example.com", "my", "-o", "jsonpath={.apiVersion} {.spec.image}"); out != "stable.example.com/v1beta1 my-awesome-cron-image" {
		t.Errorf("v1beta1 read: %q", out)
	}

	if _, err := s.Kubectl("get", "--raw", "/apis/stable.example.com/v2/namespaces/default/crontabs"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("unknown version: %v", err)
	}

	out = s.MustKubectl("delete", "crd", "crontabs.stable.example.com")
	if !strings.Contains(out, "deleted") {
		t.Errorf("delete crd: %q", out)
	}
	eventually(t, "CRD gone", 10*time.Second, func() error {
		if out, err := s.Kubectl("get", "crd", "-o", "name"); err != nil || strings.Contains(out, "crontabs") {
			return errString("still there: " + out)
		}
		return nil
	})
	if out, err := s.Kubectl("api-resources", "--api-group=stable.example.com"); err != nil || strings.Contains(out, "crontabs") {
		t.Errorf("api-resources after delete: %q %v", out, err)
	}
	if _, err := s.Kubectl("get", "--raw", "/apis/stable.example.com/v1/namespaces/default/crontabs/my"); err == nil {
		t.Errorf("the crontab is still served")
	}
}
