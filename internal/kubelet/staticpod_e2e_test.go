package kubelet_test

import (
	"context"
	"fmt"
	"net/http"
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
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
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

const urlManifest = `apiVersion: v1
kind: PodList
items:
- metadata: {name: fromurl}
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
// pod and deletes the mirror; a bad manifest beside it is skipped. At the
// same time a pod served from a loopback URL runs as fromurl-node-1
// with its mirror pod, through answers that fail, a change and its
// removal.
func TestStaticPods(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			dir := t.TempDir()
			srv := kubelettest.NewManifestServer(t, "Bearer e2e-token", "apiVersion: v1\nkind: PodList\nitems: []\n")
			n := startNodeWith(t, rt, func(o *kubelet.Options) {
				// Every change is seen through inotify: the periodic
				// re-read would come only after the test's deadlines.
				o.PodManifestPath, o.FileCheckFrequency = dir, time.Hour
				o.ManifestURL, o.HTTPCheckFrequency = srv.URL+"/pods", 200*time.Millisecond
				o.ManifestURLHeader = map[string][]string{"Authorization": {"Bearer e2e-token"}}
			})
			// Both sources at once: the URL's pod runs while the
			// directory's come and go.
			srv.Serve(http.StatusOK, urlPods(n, "v1"))
			testStaticPods(t, n, dir)
			t.Run("from a URL", func(t *testing.T) { testStaticPodsFromURL(t, n, srv) })
		})
	}
}

func urlPods(n *node, version string) string {
	return strings.NewReplacer("IMAGE", n.rt.Images["busybox"], "VERSION", version).Replace(urlManifest)
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
	running := func(what string, notUID, notCtr string) (*corev1.Pod, string) {
		t.Helper()
		return mirrorRunning(t, n, "web-node-1", what, notUID, notCtr)
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
		staticPodGone(t, n, "web-node-1", hash)
	})
}

// mirrorRunning waits for the mirror pod name (not uid) to show its pod
// running (not in container notCtr), and returns it and its container's ID.
func mirrorRunning(t *testing.T, n *node, name, what, notUID, notCtr string) (*corev1.Pod, string) {
	t.Helper()
	var mirror *corev1.Pod
	var ctr string
	until(t, what, timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
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

// staticPodGone waits for the mirror pod name to be deleted and the
// containers of the static pod whose UID is hash to be removed.
func staticPodGone(t *testing.T, n *node, name, hash string) {
	t.Helper()
	until(t, "mirror "+name+" gone", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
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
}

// fetched waits for the kubelet to fetch the URL a few more times.
func fetched(t *testing.T, m *kubelettest.ManifestServer) {
	t.Helper()
	want := len(m.Headers()) + 3
	until(t, "3 more fetches", timeout, func(context.Context) (bool, error) {
		if got := len(m.Headers()); got < want {
			return false, fmt.Errorf("%d fetches", got)
		}
		return true, nil
	})
}

func testStaticPodsFromURL(t *testing.T, n *node, srv *kubelettest.ManifestServer) {
	mirror, ctr := mirrorRunning(t, n, "fromurl-node-1", "mirror pod fromurl-node-1 Running", "", "")
	hash := mirror.Annotations["kubernetes.io/config.hash"]
	if mirror.Annotations["kubernetes.io/config.mirror"] != hash || hash == "" ||
		mirror.Annotations["kubernetes.io/config.source"] != "http" || mirror.Spec.NodeName != n.name {
		t.Errorf("mirror annotations %v, node %q", mirror.Annotations, mirror.Spec.NodeName)
	}
	if len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" || mirror.OwnerReferences[0].Name != n.name {
		t.Errorf("mirror owners %+v", mirror.OwnerReferences)
	}

	t.Run("a failing URL keeps the pod", func(t *testing.T) {
		srv.Serve(http.StatusInternalServerError, "down for maintenance")
		fetched(t, srv)
		srv.Serve(http.StatusOK, "{{{ not pods")
		fetched(t, srv)
		m, ctr2 := mirrorRunning(t, n, "fromurl-node-1", "the pod still Running", "", "")
		if m.UID != mirror.UID || ctr2 != ctr {
			t.Errorf("mirror %s, container %s; was %s, %s", m.UID, ctr2, mirror.UID, ctr)
		}
	})
	t.Run("a changed pod restarts", func(t *testing.T) {
		srv.Serve(http.StatusOK, urlPods(n, "v2"))
		m, _ := mirrorRunning(t, n, "fromurl-node-1", "the changed pod Running", string(mirror.UID), ctr)
		if m.Annotations["kubernetes.io/config.hash"] == hash {
			t.Errorf("same hash after the change")
		}
		hash = m.Annotations["kubernetes.io/config.hash"]
	})
	t.Run("a pod removed from the body stops", func(t *testing.T) {
		srv.Serve(http.StatusOK, "apiVersion: v1\nkind: PodList\nitems: []\n")
		staticPodGone(t, n, "fromurl-node-1", hash)
	})
}
