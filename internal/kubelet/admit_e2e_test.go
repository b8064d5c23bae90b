package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAdmission binds pods straight to the node (spec.nodeName, so the
// scheduler does not check them) that it cannot run: the kubelet
// rejects them as upstream's does, Failed with its reason and message
// and a Warning event, and runs a pod that fits.
func TestAdmission(t *testing.T) {
	n := startNode(t, "kemudi")
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	bound := func(name string) *corev1.Pod {
		p := pod(name, corev1.RestartPolicyAlways, img, "sleep 3600")
		p.Spec.NodeName = n.name
		return p
	}
	huge := bound("huge")
	huge.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100")}
	elsewhere := bound("elsewhere")
	elsewhere.Spec.NodeSelector = map[string]string{"pool": "other"}
	fits := bound("fits")
	fits.Spec.NodeSelector = map[string]string{"pool": "test"}
	tests := []struct {
		pod             *corev1.Pod
		reason, message string
	}{
		{huge, "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu, requested: 100000, used: "},
		{elsewhere, "NodeAffinity", "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"},
		{fits, "", ""},
	}
	for _, tt := range tests {
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, tt.pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		name := tt.pod.Name
		if tt.reason == "" {
			waitRunning(t, n, name)
			continue
		}
		until(t, name+" rejected", timeout, func(ctx context.Context) (bool, error) {
			p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Status.Phase != corev1.PodFailed || p.Status.Reason != tt.reason || !strings.HasPrefix(p.Status.Message, tt.message) {
				return false, fmt.Errorf("phase %s reason %q message %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
			}
			evs, err := n.events(ctx, "default", name)
			if err != nil {
				return false, err
			}
			if want := strings.TrimPrefix(tt.message, "Pod was rejected: "); !strings.HasPrefix(evs[tt.reason], want) {
				return false, fmt.Errorf("events %v, want %s: %s", evs, tt.reason, want)
			}
			return true, nil
		})
	}
	// A rejected pod never ran: the runtime has no sandbox for it.
	for _, name := range []string{"huge", "elsewhere"} {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sbs := sandboxesOf(t, n, p.UID); len(sbs) != 0 {
			t.Errorf("%s was rejected but has %d sandboxes", name, len(sbs))
		}
	}
}
