package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestNodeAuthorizer: two nodes' credentials against each other's pods:
// each reads the secret its own pod uses and not the other's, updates
// only its own pods' status and its own Node, and may not give itself a
// node-restriction.kubernetes.io/ label; refusals are upstream's 403s.
func TestNodeAuthorizer(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	n1 := s.UserIdentity("system:node:n1", "system:nodes")
	n2 := s.UserIdentity("system:node:n2", "system:nodes")
	for _, name := range []string{"n1-secret", "n2-secret"} {
		if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"n1", "n2"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-" + n},
			Spec: corev1.PodSpec{
				NodeName:   n,
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: n + "-secret"}}}},
			},
		}
		if _, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The graph follows the pods a moment after they are written.
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := n1.Client.CoreV1().Secrets("default").Get(ctx, "n1-secret", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("n1 never read the secret of its own pod: %v", err)
	}
	if _, err := n2.Client.CoreV1().Secrets("default").Get(ctx, "n2-secret", metav1.GetOptions{}); err != nil {
		t.Errorf("n2 reading its own pod's secret: %v", err)
	}
	_, err := n2.Client.CoreV1().Secrets("default").Get(ctx, "n1-secret", metav1.GetOptions{})
	want := `secrets "n1-secret" is forbidden: User "system:node:n2" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("n2 reading n1's secret: %v\nwant %s", err, want)
	}
	if _, err := n1.Client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("n1 listing secrets: %v", err)
	}

	// Status of another node's pod: refused by NodeRestriction, nothing stored.
	theirs, err := n2.Client.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	theirs.Status.Message = "hijacked"
	_, err = n2.Client.CoreV1().Pods("default").UpdateStatus(ctx, theirs, metav1.UpdateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "pod-n1" is forbidden: node "n2" can only update pod status for pods with spec.nodeName set to itself`) {
		t.Errorf("n2 updating n1's pod status: %v", err)
	}
	mine, _ := n2.Client.CoreV1().Pods("default").Get(ctx, "pod-n2", metav1.GetOptions{})
	mine.Status.Message = "fine"
	if _, err := n2.Client.CoreV1().Pods("default").UpdateStatus(ctx, mine, metav1.UpdateOptions{}); err != nil {
		t.Errorf("n2 updating its own pod's status: %v", err)
	}
	if err := n2.Client.CoreV1().Pods("default").Delete(ctx, "pod-n1", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("n2 deleting n1's pod: %v", err)
	}
	if p, _ := s.Client.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{}); p == nil || p.Status.Message == "hijacked" || p.DeletionTimestamp != nil {
		t.Errorf("n1's pod changed: %+v", p)
	}

	// Nodes: each its own, without restricted labels.
	for _, n := range []string{"n1", "n2"} {
		id := map[string]*clustertest.Identity{"n1": n1, "n2": n2}[n]
		if _, err := id.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s registering: %v", n, err)
		}
	}
	other, _ := n2.Client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	other.Labels = map[string]string{"x": "y"}
	if _, err := n2.Client.CoreV1().Nodes().Update(ctx, other, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n2" is not allowed to modify node "n1"`) {
		t.Errorf("n2 changing node n1: %v", err)
	}
	self, _ := n2.Client.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	self.Labels = map[string]string{"node-restriction.kubernetes.io/trusted": "true"}
	if _, err := n2.Client.CoreV1().Nodes().Update(ctx, self, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n2" is not allowed to modify labels: node-restriction.kubernetes.io/trusted`) {
		t.Errorf("n2 labeling itself: %v", err)
	}
}
