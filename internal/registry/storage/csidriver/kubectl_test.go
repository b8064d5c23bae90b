package csidriver_test

import (
	"context"
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const manifest = `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: disk.csi.example.com
spec:
  attachRequired: false
  tokenRequests:
  - audience: vault
  - audience: gcp
`

// TestKubectl: a driver applied with kubectl is served with upstream's
// defaults and printed with upstream's columns; mistakes get a 422
// naming the field.
func TestKubectl(t *testing.T) {
	s := clustertest.Start(t)
	apply(t, s, "apply", manifest)
	apply(t, s, "create", "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: plain.csi.example.com}\n")

	out := s.MustKubectl("get", "csidrivers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Join(strings.Fields(lines[0]), " "); h != "NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE" {
		t.Fatalf("header %q", h)
	}
	want := map[string]string{
		"disk.csi.example.com":  "false false false vault,gcp false Persistent",
		"plain.csi.example.com": "true false false <unset> false Persistent",
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if got := strings.Join(f[1:len(f)-1], " "); got != want[f[0]] {
			t.Errorf("row %s: %q, want %q", f[0], got, want[f[0]])
		}
		delete(want, f[0])
	}
	if len(want) != 0 {
		t.Errorf("not listed: %v", want)
	}

	ctx := context.Background()
	d, err := s.Client.StorageV1().CSIDrivers().Get(ctx, "plain.csi.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.FSGroupPolicy == nil || *d.Spec.FSGroupPolicy != "ReadWriteOnceWithFSType" || d.Spec.SELinuxMount == nil || *d.Spec.SELinuxMount {
		t.Errorf("defaults: %+v", d.Spec)
	}

	// Changing whether volumes attach is refused, with the field.
	_, err = s.Kubectl("patch", "csidriver", "disk.csi.example.com", "-p", `{"spec":{"attachRequired":true}}`)
	if err == nil || !strings.Contains(err.Error(), "spec.attachedRequired: Invalid value") || !strings.Contains(err.Error(), "field is immutable") {
		t.Errorf("patch attachRequired: %v", err)
	}
	// podInfoOnMount may change.
	s.MustKubectl("patch", "csidriver", "disk.csi.example.com", "-p", `{"spec":{"podInfoOnMount":true}}`)

	d.Name, d.ResourceVersion = "bad.csi.example.com", ""
	d.Spec.FSGroupPolicy = ptr.To(storagev1.FSGroupPolicy("Sometimes"))
	_, err = s.Client.StorageV1().CSIDrivers().Create(ctx, d, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.fsGroupPolicy: Unsupported value") {
		t.Errorf("bad fsGroupPolicy: %v", err)
	}
	_, err = s.KubectlStdin(strings.NewReader("apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: Bad_Name}\n"), "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "metadata.name: Invalid value") {
		t.Errorf("bad name: %v", err)
	}
}

func apply(t *testing.T, s *clustertest.Server, verb, yaml string) {
	t.Helper()
	if out, err := s.KubectlStdin(strings.NewReader(yaml), verb, "-f", "-"); err != nil {
		t.Fatalf("kubectl %s: %v %s", verb, err, out)
	}
}
