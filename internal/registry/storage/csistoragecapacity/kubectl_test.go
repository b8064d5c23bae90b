package csistoragecapacity_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const manifest = `apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata:
  generateName: csisc-
  namespace: kube-system
storageClassName: local-path
nodeTopology:
  matchLabels:
    kubernetes.io/hostname: node-1
capacity: 10Gi
maximumVolumeSize: 10Gi
`

// TestKubectl: a capacity created with kubectl is listed with upstream's
// default columns, its figures change and its topology does not, and
// mistakes get a 422 naming the field.
func TestKubectl(t *testing.T) {
	s := clustertest.Start(t)
	out, err := s.KubectlStdin(strings.NewReader(manifest), "create", "-f", "-")
	if err != nil {
		t.Fatalf("kubectl create: %v %s", err, out)
	}
	ctx := context.Background()
	list, err := s.Client.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	name := list.Items[0].Name
	if !strings.HasPrefix(name, "csisc-") {
		t.Errorf("name %q, want one generated from csisc-", name)
	}

	lines := strings.Split(strings.TrimSpace(s.MustKubectl("get", "csistoragecapacities", "-A")), "\n")
	if h := strings.Join(strings.Fields(lines[0]), " "); h != "NAMESPACE NAME CREATED AT" || len(lines) != 2 {
		t.Fatalf("kubectl get:\n%s", strings.Join(lines, "\n"))
	}
	if f := strings.Fields(lines[1]); f[0] != "kube-system" || f[1] != name || !strings.HasSuffix(f[2], "Z") {
		t.Errorf("row %q", lines[1])
	}

	// The figures change; the class does not.
	s.MustKubectl("patch", "csistoragecapacity", "-n", "kube-system", name, "--type=merge", "-p", `{"capacity":"5Gi","maximumVolumeSize":"5Gi"}`)
	got, err := s.Client.StorageV1().CSIStorageCapacities("kube-system").Get(ctx, name, metav1.GetOptions{})
	if err != nil || got.Capacity.Cmp(resource.MustParse("5Gi")) != 0 {
		t.Fatalf("after patch: %v %v", got, err)
	}
	_, err = s.Client.StorageV1().CSIStorageCapacities("kube-system").Patch(ctx, name, types.MergePatchType, []byte(`{"storageClassName":"fast"}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `storageClassName: Invalid value: "fast": field is immutable`) {
		t.Errorf("class changed: %v", err)
	}

	bad := strings.Replace(manifest, "capacity: 10Gi", "capacity: -1Gi", 1)
	if _, err := s.KubectlStdin(strings.NewReader(bad), "create", "-f", "-"); err == nil ||
		!strings.Contains(err.Error(), `capacity: Invalid value: "-1Gi": must be greater than or equal to 0`) {
		t.Errorf("negative capacity: %v", err)
	}
	bad = strings.Replace(manifest, "storageClassName: local-path\n", "", 1)
	if _, err := s.KubectlStdin(strings.NewReader(bad), "create", "-f", "-"); err == nil ||
		!strings.Contains(err.Error(), `storageClassName: Invalid value: ""`) {
		t.Errorf("no class: %v", err)
	}
}
