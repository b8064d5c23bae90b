package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestImageGC: with the high threshold at 1% (always crossed on a real
// disk), an image no container uses is removed and the one a running
// pod uses is kept; as the disk cannot come down to the low threshold,
// the node gets upstream's FreeDiskSpaceFailed event.
func TestImageGC(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			n := startNodeWith(t, rt, func(o *kubelet.Options) {
				o.ImageGCHighThresholdPercent, o.ImageGCLowThresholdPercent = 1, 0
				// Long enough for a pulled image to get its container.
				o.ImageMinimumGCAge = 15 * time.Second
				o.ImageGCPeriod = time.Second
			})
			testImageGC(t, n)
		})
	}
}

func testImageGC(t *testing.T, n *node) {
	ctx := context.Background()
	rt, closeRT, err := kubelet.Dial(n.rt.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRT()
	// An image of its own (another config, the same layers): nobody runs it.
	other, err := mutate.Config(n.rt.Busybox, v1.Config{Env: []string{"UNUSED=1"}, Cmd: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.rt.Registry.Push("unused:1", other); err != nil {
		t.Fatal(err)
	}
	unused := n.rt.Registry.Ref("unused:1")

	p := pod("user", corev1.RestartPolicyAlways, n.rt.Images["busybox"], "sleep 3600")
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.c.CoreV1().Pods("default").Delete(context.Background(), "user", metav1.DeleteOptions{}) })
	until(t, "pod user Running", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "user", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	if _, err := rt.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: unused}}); err != nil {
		t.Fatalf("pull %s: %v", unused, err)
	}
	present := func(ctx context.Context, ref string) (bool, error) {
		st, err := rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			return false, err
		}
		return st.Image != nil, nil
	}
	until(t, "the unused image removed", timeout, func(ctx context.Context) (bool, error) {
		there, err := present(ctx, unused)
		if there {
			return false, fmt.Errorf("%s still there", unused)
		}
		return err == nil, err
	})
	if there, err := present(ctx, n.rt.Images["busybox"]); err != nil || !there {
		t.Errorf("the image of a running pod: present %v, %v; want kept", there, err)
	}
	if p, err := n.c.CoreV1().Pods("default").Get(ctx, "user", metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod user after image GC: %v", err)
	}
	until(t, "FreeDiskSpaceFailed event on the node", 30*time.Second, func(ctx context.Context) (bool, error) {
		evs, err := n.c.CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", n.name).String()})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "FreeDiskSpaceFailed" && e.Type == corev1.EventTypeWarning &&
				strings.HasPrefix(e.Message, "Failed to garbage collect required amount of images. Attempted to free ") {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d node events, none FreeDiskSpaceFailed", len(evs.Items))
	})
}
