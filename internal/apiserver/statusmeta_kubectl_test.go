package apiserver_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestKubectlStatusMetadata: metadata changes sent through /status with
// kubectl patch --subresource=status (kubectl 1.37's label and annotate
// have no --subresource flag) persist as they do against upstream 1.37:
// a claim keeps the annotation and label (its status strategy resets
// only the spec) and records who owns them; a deployment drops the label
// (its status strategy resets labels too) and keeps the annotation; a
// custom object keeps all of its stored metadata while its status
// changes.
func TestKubectlStatusMetadata(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.ManagedFields = apiserver.ManagedFieldsAlways })
	ctx := context.Background()
	claim := `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: x}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`
	if _, err := s.KubectlStdin(strings.NewReader(claim), "apply", "-f", "-"); err != nil {
		t.Fatalf("create claim: %v", err)
	}
	statusPatch := func(args ...string) {
		t.Helper()
		s.MustKubectl(append([]string{"patch", "--subresource=status", "--type=merge"}, args...)...)
	}
	statusPatch("pvc", "x", "-p", `{"metadata":{"annotations":{"a":"b"},"labels":{"tier":"db"}}}`)
	pvc, err := s.Client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Annotations["a"] != "b" || pvc.Labels["tier"] != "db" {
		t.Errorf("claim after status annotate and label: annotations %v labels %v", pvc.Annotations, pvc.Labels)
	}
	if !ownsThroughStatus(pvc.ManagedFields, "kubectl-patch", `"f:a"`) || !ownsThroughStatus(pvc.ManagedFields, "kubectl-patch", `"f:tier"`) {
		t.Errorf("kubectl-patch does not own the annotation and label through status: %v", pvc.ManagedFields)
	}

	s.MustKubectl("create", "deployment", "d", "--image=nginx")
	statusPatch("deployment", "d", "-p", `{"metadata":{"annotations":{"a":"b"},"labels":{"x":"y"}}}`)
	d, err := s.Client.AppsV1().Deployments("default").Get(ctx, "d", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Labels["x"]; ok || d.Labels["app"] != "d" {
		t.Errorf("deployment labels after a status label: %v", d.Labels)
	}
	if d.Annotations["a"] != "b" {
		t.Errorf("deployment annotations after a status annotate: %v", d.Annotations)
	}
	if ownsThroughStatus(d.ManagedFields, "kubectl-patch", `"f:x"`) || !ownsThroughStatus(d.ManagedFields, "kubectl-patch", `"f:a"`) {
		t.Errorf("kubectl-patch owns a label it did not set, or not its annotation: %v", d.ManagedFields)
	}

	applyFile(t, s, "testdata/crontab-crd.yaml")
	s.MustKubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/crontabs.stable.example.com")
	tab := `apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: c, labels: {app: c}, annotations: {note: old}}
spec: {cronSpec: "* * * * */5", image: busybox}
`
	if _, err := s.KubectlStdin(strings.NewReader(tab), "apply", "-f", "-"); err != nil {
		t.Fatalf("create crontab: %v", err)
	}
	statusPatch("crontab", "c", "-p",
		`{"metadata":{"labels":{"x":"y"},"annotations":{"note":"new"},"finalizers":["example.com/f"]},"status":{"lastRun":"now"}}`)
	out := s.MustKubectl("get", "crontab", "c", "-o",
		`jsonpath={.metadata.labels} {.metadata.annotations.note} {.metadata.finalizers} {.status.lastRun}`)
	if out != `{"app":"c"} old  now` {
		t.Errorf("crontab after status updates: %q", out)
	}
}

// ownsThroughStatus reports whether manager's status entry names field.
func ownsThroughStatus(entries []metav1.ManagedFieldsEntry, manager, field string) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Subresource == "status" && e.FieldsV1 != nil && strings.Contains(string(e.FieldsV1.Raw), field) {
			return true
		}
	}
	return false
}
