package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRuntimeClass runs a pod through a RuntimeClass on each runtime:
// the sandbox gets the class's handler (on containerd the test's second
// handler, runc-alt, whose state root shows what it ran), the pod its overhead, and
// the node lists its runtime's handlers, and the pod's cgroup holds its
// limits plus the overhead. A handler the runtime lacks
// leaves the pod without a sandbox and says why in its events; a class
// that does not exist is refused by the API server.
func TestRuntimeClass(t *testing.T) {
	handlers := map[string]string{"containerd": "runc-alt", "kemudi": "runc"}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testRuntimeClass(t, startNode(t, rt), handlers[rt]) })
	}
}

func testRuntimeClass(t *testing.T, n *node, handler string) {
	ctx := context.Background()
	overhead := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("16Mi")}
	for _, rc := range []*nodev1.RuntimeClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Handler: handler, Overhead: &nodev1.Overhead{PodFixed: overhead}},
		{ObjectMeta: metav1.ObjectMeta{Name: "missing"}, Handler: "nothere"},
	} {
		if _, err := n.c.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// containerd 1.7 reports no handlers (2.0 does); the node lists
	// what the runtime reports, in its order.
	var want []string
	for _, h := range runtimeStatus(t, n).GetRuntimeHandlers() {
		want = append(want, h.GetName())
	}
	if n.rt.Name == "kemudi" && !slices.Contains(want, handler) {
		t.Errorf("kemudi's runtime reports handlers %q, want %q among them", want, handler)
	}
	until(t, "the node lists its runtime's handlers", timeout, func(ctx context.Context) (bool, error) {
		nd, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var names []string
		for _, h := range nd.Status.RuntimeHandlers {
			names = append(names, h.Name)
		}
		if !slices.Equal(names, want) {
			return false, fmt.Errorf("handlers %q, want %q", names, want)
		}
		return true, nil
	})

	img := n.rt.Images["busybox"]
	p := pod("classy", corev1.RestartPolicyAlways, img, "sleep 3600")
	p.Spec.RuntimeClassName = &[]string{"other"}[0]
	limits := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("32Mi")}
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: limits, Limits: limits}
	created, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Spec.Overhead; got.Cpu().Cmp(overhead[corev1.ResourceCPU]) != 0 || got.Memory().Cmp(overhead[corev1.ResourceMemory]) != 0 {
		t.Errorf("pod overhead %v, want the class's %v", got, overhead)
	}
	waitRunning(t, n, "classy")
	sb := sandboxOf(t, n, created.UID)
	if sb.GetStatus().GetRuntimeHandler() != handler {
		t.Errorf("sandbox runtime handler %q, want %q", sb.GetStatus().GetRuntimeHandler(), handler)
	}
	if handler == "runc-alt" {
		if _, err := os.Stat(filepath.Join(n.rt.AltRuntimeRoot(), "k8s.io", sb.GetStatus().GetId())); err != nil {
			t.Errorf("runc-alt did not run the sandbox: %v", err)
		}
	}

	// The pod's cgroup holds its limits and the overhead (Guaranteed:
	// under kubepods itself), on either runtime.
	podCg := filepath.Join(n.rt.CgroupRoot, "kubepods", "pod"+string(created.UID))
	if got, want := cgroupValue(t, podCg, "memory/memory.limit_in_bytes", "memory.max"), fmt.Sprint(48<<20); got != want {
		t.Errorf("pod cgroup memory limit %s, want %s (32Mi + 16Mi overhead)", got, want)
	}
	if got := cgroupValue(t, podCg, "cpu/cpu.cfs_quota_us", "cpu.max"); got != "30000" && got != "30000 100000" {
		t.Errorf("pod cgroup CPU quota %s, want 30000 (200m + 100m overhead)", got)
	}

	bad := pod("unrunnable", corev1.RestartPolicyAlways, img, "sleep 3600")
	bad.Spec.RuntimeClassName = &[]string{"missing"}[0]
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "FailedCreatePodSandBox naming the handler", timeout, func(ctx context.Context) (bool, error) {
		evs, err := n.events(ctx, "default", "unrunnable")
		if err != nil {
			return false, err
		}
		if !strings.Contains(evs["FailedCreatePodSandBox"], `"nothere"`) {
			return false, fmt.Errorf("events %v", evs)
		}
		return true, nil
	})
	if got, err := n.c.CoreV1().Pods("default").Get(ctx, "unrunnable", metav1.GetOptions{}); err != nil || got.Status.Phase != corev1.PodPending {
		t.Errorf("pod with an unknown handler: %v, phase %q, want Pending", err, got.Status.Phase)
	}

	ghost := pod("ghost", corev1.RestartPolicyAlways, img, "sleep 3600")
	ghost.Spec.RuntimeClassName = &[]string{"ghost"}[0]
	_, err = n.c.CoreV1().Pods("default").Create(ctx, ghost, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pod rejected: RuntimeClass "ghost" not found`) {
		t.Errorf("a pod naming no RuntimeClass that exists: %v, want Forbidden", err)
	}
}

func waitRunning(t *testing.T, n *node, name string) {
	t.Helper()
	until(t, name+" Running", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodRunning {
			evs, _ := n.events(ctx, "default", name)
			return false, fmt.Errorf("phase %s, events %v", p.Status.Phase, evs)
		}
		return true, nil
	})
}

// cgroupValue reads a file of the cgroup at path (relative to the
// hierarchy's root): v1's under its controller's mount, else v2's.
func cgroupValue(t *testing.T, path, v1, v2 string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", filepath.Dir(v1), path, filepath.Base(v1)))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join("/sys/fs/cgroup", path, v2))
	}
	if err != nil {
		t.Fatalf("read the pod cgroup: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// criClient is a CRI client of the node's runtime, closed at the test's end.
func criClient(t *testing.T, n *node) runtimeapi.RuntimeServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(n.rt.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn)
}

func runtimeStatus(t *testing.T, n *node) *runtimeapi.StatusResponse {
	t.Helper()
	st, err := criClient(t, n).Status(context.Background(), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sandboxesOf are the runtime's sandboxes of the pod.
func sandboxesOf(t *testing.T, n *node, uid types.UID) []*runtimeapi.PodSandbox {
	t.Helper()
	sbs, err := criClient(t, n).ListPodSandbox(context.Background(), &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(uid)}}})
	if err != nil {
		t.Fatalf("the pod's sandboxes: %v", err)
	}
	return sbs.Items
}

// sandboxOf is the verbose CRI status of the pod's sandbox.
func sandboxOf(t *testing.T, n *node, uid types.UID) *runtimeapi.PodSandboxStatusResponse {
	t.Helper()
	sbs := sandboxesOf(t, n, uid)
	if len(sbs) == 0 {
		t.Fatalf("the pod has no sandbox")
	}
	st, err := criClient(t, n).PodSandboxStatus(context.Background(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbs[0].Id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
