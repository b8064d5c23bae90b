package kubelet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"
)

// TestInPlaceResize drives an in-place resize as a user (or an
// autoscaler) does, through pods/resize: the new
// limits reach the running container's cgroup without a restart; a
// container whose resizePolicy says RestartContainer restarts once; a
// resize the node has no room for waits (PodResizePending, Deferred),
// also across a kubelet restart, and goes through once room is freed; one beyond the node's allocatable is
// refused by the API server. On containerd's CRI too.
func TestInPlaceResize(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testInPlaceResize(t, startNode(t, rt)) })
	}
}

func testInPlaceResize(t *testing.T, n *node) {
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	p := pod("resized", corev1.RestartPolicyAlways, img, "sleep 3600")
	p.Spec.Containers[0].Name = "app"
	p.Spec.Containers[0].Resources = requirements("100m", "32Mi", "200m", "64Mi")
	restarter := p.Spec.Containers[0]
	restarter.Name = "restarter"
	restarter.Resources = requirements("50m", "16Mi", "100m", "32Mi")
	restarter.ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
	p.Spec.Containers = append(p.Spec.Containers, restarter)
	created, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRunning(t, n, "resized")
	waitResized(t, n, "the kubelet reports the containers' resources", func(p *corev1.Pod) error {
		return hasResources(p, "app", "200m", "64Mi")
	})

	// In place, and by restart where the policy says so.
	resize(t, n, "resized", `{"spec":{"containers":[
		{"name":"app","resources":{"requests":{"cpu":"150m"},"limits":{"cpu":"400m","memory":"96Mi"}}},
		{"name":"restarter","resources":{"limits":{"memory":"48Mi"}}}]}}`)
	resized := waitResized(t, n, "the resize done", func(p *corev1.Pod) error {
		if err := hasResources(p, "app", "400m", "96Mi"); err != nil {
			return err
		}
		return hasResources(p, "restarter", "100m", "48Mi")
	})
	for _, cs := range resized.Status.ContainerStatuses {
		want := map[string]int32{"app": 0, "restarter": 1}[cs.Name]
		if cs.RestartCount != want {
			t.Errorf("container %s restarted %d times, want %d", cs.Name, cs.RestartCount, want)
		}
		if cs.Name == "app" {
			if got := cs.AllocatedResources[corev1.ResourceCPU]; got.String() != "150m" {
				t.Errorf("app's allocatedResources cpu %s, want 150m", got.String())
			}
			if got := containerCgroupValue(t, n, created.UID, cs.ContainerID, "memory/memory.limit_in_bytes", "memory.max"); got != fmt.Sprint(96<<20) {
				t.Errorf("app's cgroup memory limit %s, want %d", got, 96<<20)
			}
		}
	}
	podCg := filepath.Join(n.rt.CgroupRoot, "kubepods", "burstable", "pod"+string(created.UID))
	if got := cgroupValue(t, podCg, "memory/memory.limit_in_bytes", "memory.max"); got != fmt.Sprint(144<<20) {
		t.Errorf("pod cgroup memory limit %s, want %d (96Mi + 48Mi)", got, 144<<20)
	}
	until(t, "ResizeStarted and ResizeCompleted events", timeout, func(ctx context.Context) (bool, error) {
		evs, err := n.events(ctx, "default", "resized")
		if err != nil {
			return false, err
		}
		if !strings.Contains(evs["ResizeStarted"], `"generation":2`) || !strings.Contains(evs["ResizeCompleted"], `"generation":2`) {
			return false, fmt.Errorf("events %v", evs)
		}
		return true, nil
	})

	// No room beside another pod: the resize waits, then goes through
	// once the other pod is gone.
	node, err := n.c.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allocatable := node.Status.Allocatable.Cpu().MilliValue()
	used := usedCPU(t, n)
	hog := pod("hog", corev1.RestartPolicyAlways, img, "sleep 3600")
	hog.Spec.Containers[0].Resources = requirements(fmt.Sprintf("%dm", allocatable-used-300), "8Mi", "", "")
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, hog, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, n, "hog")
	// 150m to 500m: 50m more than the node has left.
	resize(t, n, "resized", `{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"500m"},"limits":{"cpu":"600m"}}}]}}`)
	var deferredAt time.Time
	until(t, "the resize deferred", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "resized", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(p, corev1.PodResizePending)
		if c == nil || c.Reason != corev1.PodReasonDeferred || c.ObservedGeneration != p.Generation ||
			!strings.Contains(c.Message, "Node didn't have enough resource: cpu, requested: 550") {
			return false, fmt.Errorf("PodResizePending %+v", c)
		}
		deferredAt = c.LastProbeTime.Time
		return true, nil
	})
	// A kubelet restarted meanwhile keeps the allocation it gave (kept in
	// the pod's directory): the resize still waits, nothing restarts.
	// The condition's times are in seconds: the new kubelet's must be
	// told apart from the old one's.
	until(t, "a second past the deferral", timeout, func(context.Context) (bool, error) {
		return time.Since(deferredAt) > time.Second, nil
	})
	n.stop()
	n.start(t)
	until(t, "the resize still deferred after a kubelet restart", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "resized", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		// Written by the new kubelet: had it lost the allocation, it
		// would have taken the spec's and found nothing pending.
		if c := condition(p, corev1.PodResizePending); c == nil || c.Reason != corev1.PodReasonDeferred || !c.LastProbeTime.Time.After(deferredAt) {
			return false, fmt.Errorf("PodResizePending %+v", c)
		}
		if err := hasResources(p, "app", "400m", "96Mi"); err != nil {
			return false, err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "app" && cs.RestartCount != 0 {
				return false, fmt.Errorf("app restarted %d times", cs.RestartCount)
			}
		}
		return true, nil
	})
	if err := n.c.CoreV1().Pods("default").Delete(ctx, "hog", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitResized(t, n, "the deferred resize done once the hog is gone", func(p *corev1.Pod) error {
		return hasResources(p, "app", "600m", "96Mi")
	})

	// Beyond what the node has at all: refused at once.
	_, err = n.c.CoreV1().Pods("default").Patch(ctx, "resized", types.StrategicMergePatchType,
		[]byte(`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"64"},"limits":{"cpu":"64"}}}]}}`), metav1.PatchOptions{}, "resize")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "node didn't have enough allocatable resources: cpu, requested: 64") {
		t.Errorf("a resize beyond the node's allocatable: %v, want Forbidden naming cpu", err)
	}
}

func requirements(cpu, mem, cpuLim, memLim string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	if cpuLim != "" {
		r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim), corev1.ResourceMemory: resource.MustParse(memLim)}
	}
	return r
}

func resize(t *testing.T, n *node, name, patch string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(patch), &v); err != nil {
		t.Fatalf("bad patch in the test: %v", err)
	}
	_, err := n.c.CoreV1().Pods("default").Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	if err != nil {
		t.Fatalf("resize %s: %v", name, err)
	}
}

// waitResized waits until the kubelet has seen the pod's generation, no
// resize is pending or under way, and check holds; it returns the pod.
func waitResized(t *testing.T, n *node, what string, check func(*corev1.Pod) error) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	until(t, what, timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "resized", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		switch {
		case p.Status.ObservedGeneration != p.Generation:
			return false, fmt.Errorf("observedGeneration %d of %d", p.Status.ObservedGeneration, p.Generation)
		case condition(p, corev1.PodResizePending) != nil:
			return false, fmt.Errorf("pending: %+v", condition(p, corev1.PodResizePending))
		case condition(p, corev1.PodResizeInProgress) != nil:
			return false, fmt.Errorf("in progress: %+v", condition(p, corev1.PodResizeInProgress))
		}
		last = p
		return check(p) == nil, check(p)
	})
	return last
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// hasResources: the container runs with these CPU and memory limits, as
// its status reports them.
func hasResources(p *corev1.Pod, name, cpuLim, memLim string) error {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != name {
			continue
		}
		if cs.Resources == nil || cs.State.Running == nil {
			return fmt.Errorf("container %s: resources %v, state %+v", name, cs.Resources, cs.State)
		}
		cpu, mem := cs.Resources.Limits[corev1.ResourceCPU], cs.Resources.Limits[corev1.ResourceMemory]
		if cpu.Cmp(resource.MustParse(cpuLim)) != 0 || mem.Cmp(resource.MustParse(memLim)) != 0 {
			return fmt.Errorf("container %s limits cpu %s memory %s, want %s %s", name, cpu.String(), mem.String(), cpuLim, memLim)
		}
		return nil
	}
	return fmt.Errorf("no status of container %s", name)
}

// usedCPU is what the node's running pods request, in millicores.
func usedCPU(t *testing.T, n *node) int64 {
	t.Helper()
	pods, err := n.c.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.name})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
			used += req.Cpu().MilliValue()
		}
	}
	return used
}

// containerCgroupValue reads a file of a container's own cgroup, found
// under its pod's cgroup (the runtime may put a sandbox level between).
func containerCgroupValue(t *testing.T, n *node, uid types.UID, containerID, v1, v2 string) string {
	t.Helper()
	id := containerID[strings.Index(containerID, "://")+3:]
	for _, qos := range []string{"", "burstable", "besteffort"} {
		podCg := filepath.Join(n.rt.CgroupRoot, "kubepods", qos, "pod"+string(uid))
		for _, base := range []string{filepath.Join("/sys/fs/cgroup", filepath.Dir(v1), podCg), filepath.Join("/sys/fs/cgroup", podCg)} {
			for _, pattern := range []string{filepath.Join(base, id), filepath.Join(base, "*", id)} {
				dirs, _ := filepath.Glob(pattern)
				for _, d := range dirs {
					name := filepath.Base(v1)
					if !strings.HasPrefix(d, filepath.Join("/sys/fs/cgroup", filepath.Dir(v1))) {
						name = v2
					}
					if b, err := os.ReadFile(filepath.Join(d, name)); err == nil {
						return strings.TrimSpace(string(b))
					}
				}
			}
		}
	}
	t.Fatalf("no cgroup of container %s under pod %s", id, uid)
	return ""
}
