package kubelet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestEmptyDirSizeLimitEviction: a pod that writes 20 MiB into an
// emptyDir whose sizeLimit is 5Mi is evicted with upstream's message,
// the Evicted event and the DisruptionTarget condition, though the node
// is under no pressure; its neighbour, writing into an emptyDir without
// a limit, keeps running.
func TestEmptyDirSizeLimitEviction(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			testEmptyDirSizeLimitEviction(t, startNodeWith(t, rt, func(o *kubelet.Options) {
				o.EvictionMonitoringInterval = time.Second
			}))
		})
	}
}

func testEmptyDirSizeLimitEviction(t *testing.T, n *node) {
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	withData := func(name string, sizeLimit *resource.Quantity, script string) *corev1.Pod {
		p := pod(name, corev1.RestartPolicyAlways, img, script)
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: sizeLimit}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		return p
	}
	pods := []*corev1.Pod{
		withData("neighbour", nil, "dd if=/dev/zero of=/data/f bs=1M count=2 && sleep 3600"),
		withData("filler", ptr.To(resource.MustParse("5Mi")), "dd if=/dev/zero of=/data/f bs=1M count=20 && sleep 3600"),
	}
	for _, p := range pods {
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "neighbour Running", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "neighbour", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	start := time.Now()
	const want = `Usage of EmptyDir volume "data" exceeds the limit "5Mi". `
	until(t, "filler evicted", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "filler", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodFailed {
			return false, fmt.Errorf("filler %s", p.Status.Phase)
		}
		if p.Status.Reason != "Evicted" || p.Status.Message != want {
			t.Fatalf("filler status: reason %q message %q, want Evicted %q", p.Status.Reason, p.Status.Message, want)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == "TerminationByKubelet" {
				return true, nil
			}
		}
		t.Fatalf("filler has no DisruptionTarget condition: %+v", p.Status.Conditions)
		return false, nil
	})
	t.Logf("filler evicted %s after the neighbour ran", time.Since(start).Round(time.Millisecond))
	waitEvent(t, n, "filler", "Evicted", want)
	nb, err := n.c.CoreV1().Pods("default").Get(ctx, "neighbour", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nb.Status.Phase != corev1.PodRunning || len(nb.Status.ContainerStatuses) != 1 || nb.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("neighbour: phase %s reason %q message %q statuses %+v, want Running, never restarted",
			nb.Status.Phase, nb.Status.Reason, nb.Status.Message, nb.Status.ContainerStatuses)
	}
}
