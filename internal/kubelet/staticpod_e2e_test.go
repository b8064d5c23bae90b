package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet"
)

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: IMAGE
    command: ["sh", "-c", "echo VERSION; exec sleep 3600"]
`

// TestStaticPods: a manifest in the directory runs as web-node-1 with a
// mirror pod in the API; deleting the mirror recreates it (the pod keeps
// running); editing the file restarts the pod; removing it stops the
// pod and deletes the mirror; a bad manifest beside it is skipped.
func TestStaticPods(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			dir := t.TempDir()
			n := startNodeWith(t, rt, func(o *kubelet.Options) {
				// Every change is seen through inotify: the periodic
				// re-read would come only after the test's deadlines.
				o.PodManifestPath, o.FileCheckFrequency = dir, time.Hour
			})
			testStaticPods(t, n, dir)
		})
	}
}

func testStaticPods(t *testing.T, n *node, dir string) {
	ctx := context.Background()
	write := func(name, content string) {
		t.Helper()
		// Written beside, then renamed: the kubelet never reads half a file.
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(version string) string {
		return strings.NewReplacer("IMAGE", n.rt.Images["busybox"], "VERSION", version).Replace(staticManifest)
	}
	write("bad.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nope}\n")
	write("web.yaml", manifest("v1"))

	pods := n.c.CoreV1().Pods("default")
	// running waits for the mirror (not uid) to show the pod running, and
	// returns it and its container's ID.
	running := func(what string, notUID, notCtr string) (*corev1.Pod, string) {
		var mirror *corev1.Pod
		var ctr string
		until(t, what, timeout, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, "web-node-1", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.UID == "" || string(p.UID) == notUID || p.DeletionTimestamp != nil {
				return false, fmt.Errorf("old mirror %s", p.UID)
			}
			if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil ||
				p.Status.ContainerStatuses[0].ContainerID == notCtr {
				return false, fmt.Errorf("status %s", describe([]corev1.Pod{*p}))
			}
			mirror, ctr = p, p.Status.ContainerStatuses[0].ContainerID
			return true, nil
		})
		return mirror, ctr
	}
	mirror, ctr := running("mirror pod web-node-1 Running", "", "")
	hash := mirror.Annotations["kubernetes.io/config.hash"]
	if mirror.Annotations["kubernetes.io/config.mirror"] != hash || hash == "" ||
		mirror.Annotations["kubernetes.io/config.source"] != "file" || mirror.Spec.NodeName != n.name {
		t.Errorf("mirror annotations %v, node %q", mirror.Annotations, mirror.Spec.NodeName)
	}
	if len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" || mirror.OwnerReferences[0].Name != n.name {
		t.Errorf("mirror owners %+v", mirror.OwnerReferences)
	}
	if _, err := pods.Get(ctx, "nope-node-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the bad manifest made a pod: %v", err)
	}

	t.Run("mirror deleted is recreated, the pod keeps running", func(t *testing.T) {
		if err := pods.Delete(ctx, "web-node-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		m2, ctr2 := running("a new mirror", string(mirror.UID), "")
		if ctr2 != ctr {
			t.Errorf("the container changed from %s to %s", ctr, ctr2)
		}
		mirror = m2
	})
	t.Run("an edited file restarts the pod", func(t *testing.T) {
		write("web.yaml", manifest("v2"))
		m3, ctr3 := running("the edited pod Running", string(mirror.UID), ctr)
		if m3.Annotations["kubernetes.io/config.hash"] == hash {
			t.Errorf("same hash after the edit")
		}
		hash, ctr = m3.Annotations["kubernetes.io/config.hash"], ctr3
	})
	t.Run("a removed file stops the pod and deletes the mirror", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
			t.Fatal(err)
		}
		until(t, "mirror gone", timeout, func(ctx context.Context) (bool, error) {
			_, err := pods.Get(ctx, "web-node-1", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		rt, closeRT, err := kubelet.Dial(n.rt.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		defer closeRT()
		until(t, "the static pod's containers gone", timeout, func(ctx context.Context) (bool, error) {
			l, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
				LabelSelector: map[string]string{"io.kubernetes.pod.uid": hash}}})
			if err != nil {
				return false, err
			}
			if len(l.Containers) > 0 {
				return false, fmt.Errorf("%d containers left", len(l.Containers))
			}
			return true, nil
		})
	})
}
