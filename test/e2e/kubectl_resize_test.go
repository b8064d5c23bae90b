package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testResize is an in-place resize as a user makes it with kubectl: a
// patch of the pods/resize subresource changes a running container's
// CPU limit without restarting it; the same patch of the pod itself is
// refused, as upstream refuses it.
func testResize(t *testing.T, n *serverNode) {
	manifest := strings.ReplaceAll(`apiVersion: v1
kind: Pod
metadata: {name: sized}
spec:
  containers:
  - name: main
    image: IMAGE
    command: [sleep, "3600"]
    resources:
      requests: {cpu: 50m, memory: 16Mi}
      limits: {cpu: 100m, memory: 32Mi}
`, "IMAGE", n.registry.Ref("busybox:1"))
	path := filepath.Join(t.TempDir(), "sized.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	n.kubectl("apply", "-f", path)
	n.kubectl("wait", "--for=condition=Ready", "pod/sized", "--timeout=120s")
	eventuallyKubectl(t, n, time.Minute, "the kubelet reports the container's resources", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "sized", "-o", "jsonpath={.status.containerStatuses[0].resources.limits.cpu}")
		return err == nil && out == "100m", out
	})

	patch := `{"spec":{"containers":[{"name":"main","resources":{"limits":{"cpu":"300m"}}}]}}`
	if out, err := n.tryKubectl("patch", "pod", "sized", "-p", patch); err == nil || !strings.Contains(out, "pod updates may not change fields other than") {
		t.Errorf("kubectl patch of a pod's resources without --subresource = %q, %v; want refused", out, err)
	}
	n.kubectl("patch", "pod", "sized", "--subresource", "resize", "-p", patch)
	eventuallyKubectl(t, n, time.Minute, "the container runs with its new limit", func() (bool, string) {
		out, err := n.tryKubectl("get", "pod", "sized", "-o",
			`jsonpath={.status.containerStatuses[0].resources.limits.cpu} {.status.containerStatuses[0].restartCount} {.status.observedGeneration} {.metadata.generation} {.status.conditions[?(@.type=="PodResizeInProgress")].status}`)
		return err == nil && out == "300m 0 2 2 ", out
	})
	if out := n.kubectl("get", "pod", "sized", "--subresource", "resize", "-o", "jsonpath={.spec.containers[0].resources.limits.cpu}"); out != "300m" {
		t.Errorf("kubectl get --subresource resize: limits.cpu %q, want 300m", out)
	}
	n.kubectl("delete", "pod", "sized", "--wait=false")
}
