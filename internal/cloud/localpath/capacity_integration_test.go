package localpath_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kemudi/kemudi/internal/cloud/localpath"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// capacityNode is one node's provisioner with a disk whose free space
// the test sets.
type capacityNode struct {
	name string
	dir  string
	free atomic.Uint64
}

// runProvisioner runs the node's provisioner as the agent does (the
// node's identity) until the test ends.
func runProvisioner(t *testing.T, s *clustertest.Server, n *capacityNode) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	id := s.UserIdentity("system:node:"+n.name, "system:nodes")
	go func() {
		done <- localpath.Run(ctx, id.Config, localpath.Options{
			NodeName: n.name, Dir: n.dir, RetryStart: 100 * time.Millisecond, CapacityPeriod: 200 * time.Millisecond,
			FreeBytes: func(string) (uint64, error) { return n.free.Load(), nil },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("provisioner of %s: %v", n.name, err)
		}
	})
}

// published waits until the node's capacity for local-path reads want.
func published(t *testing.T, s *clustertest.Server, hostname, want string) *storagev1.CSIStorageCapacity {
	t.Helper()
	var got *storagev1.CSIStorageCapacity
	until(t, "capacity "+want+" published for "+hostname, func(ctx context.Context) (bool, error) {
		list, err := s.Client.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for i, c := range list.Items {
			if c.StorageClassName == "local-path" && c.NodeTopology != nil && c.NodeTopology.MatchLabels[corev1.LabelHostname] == hostname {
				got = &list.Items[i]
				return c.Capacity != nil && c.Capacity.String() == want && c.MaximumVolumeSize != nil && c.MaximumVolumeSize.String() == want, nil
			}
		}
		return false, nil
	})
	return got
}

// TestCapacity: each node's provisioner publishes its free space; the
// scheduler places a claim of local-path only on a node with room for
// it, and one larger than every node's keeps its pod Pending with
// upstream's reason, its claim Pending, and no volume or directory made,
// until a node has room; a node's capacities go with the node.
func TestCapacity(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.LocalStorage = true })
	s.RunControlPlane("scheduler")
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"persistentvolume-binder", "garbage-collector"}
		o.LeaderElect = false
	})
	ctx := context.Background()
	c := s.Client
	names := simnodetest.Start(t, s.Config, simnode.Options{Count: 2}).Names()
	small, roomy := &capacityNode{name: names[0], dir: cluster.LocalPathDir(t.TempDir())}, &capacityNode{name: names[1], dir: cluster.LocalPathDir(t.TempDir())}
	small.free.Store(2 << 30)
	roomy.free.Store(8 << 30)
	for _, n := range []*capacityNode{small, roomy} {
		runProvisioner(t, s, n)
	}
	published(t, s, small.name, "2Gi")
	roomyCap := published(t, s, roomy.name, "8Gi")
	if len(roomyCap.OwnerReferences) != 1 || roomyCap.OwnerReferences[0].Name != roomy.name || !strings.HasPrefix(roomyCap.Name, "csisc-") {
		t.Errorf("capacity %s owners %v", roomyCap.Name, roomyCap.OwnerReferences)
	}
	out := s.MustKubectl("get", "csistoragecapacities", "-n", "kube-system")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME CREATED AT" ||
		!strings.Contains(out, roomyCap.Name) {
		t.Errorf("kubectl get csistoragecapacities:\n%s", out)
	}

	claimPod := func(name, size string) {
		t.Helper()
		class := "local-path"
		if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &class,
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "main", Image: "busybox"}},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name},
				}}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	podNode := func(name string) string {
		t.Helper()
		var node string
		until(t, "pod "+name+" scheduled", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			node = p.Spec.NodeName
			return err == nil && node != "", err
		})
		return node
	}
	f := fixture{t, c, ""}

	// 5Gi: only the roomy node holds it.
	claimPod("fits", "5Gi")
	if node := podNode("fits"); node != roomy.name {
		t.Errorf("pod fits on %s, want %s (the one with 8Gi free)", node, roomy.name)
	}
	fits, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "fits", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv := f.bound(fits)
	if pv.Spec.Local == nil || !strings.HasPrefix(pv.Spec.Local.Path, roomy.dir+"/") {
		t.Errorf("volume %s at %+v, want under %s", pv.Name, pv.Spec.Local, roomy.dir)
	}

	// 1Ti: no node has room.
	claimPod("huge", "1Ti")
	// (An earlier FailedScheduling may say the claim is not found yet:
	// the scheduler's cache sees the pod first.)
	msg := f.eventWhere(fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": "huge", "reason": "FailedScheduling"},
		"2 node(s) did not have enough free storage")
	t.Logf("FailedScheduling: %s", msg)
	// The claim says it waits: for a consumer (WaitForFirstConsumer),
	// or, once the binder saw the pod, for the pod's scheduling
	// (WaitForPodScheduled, at its next resync).
	pvcMsg := f.eventWhere(fields.Set{"involvedObject.kind": "PersistentVolumeClaim", "involvedObject.name": "huge"}, "waiting for ")
	if pvcMsg != "waiting for first consumer to be created before binding" && pvcMsg != "waiting for pod huge to be scheduled" {
		t.Errorf("claim huge's event %q", pvcMsg)
	}
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "huge", metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimPending || pvc.Annotations["volume.kubernetes.io/selected-node"] != "" {
		t.Fatalf("claim huge: %v %v %v", pvc.Status.Phase, pvc.Annotations, err)
	}
	if p, err := c.CoreV1().Pods("default").Get(ctx, "huge", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod huge on %q, phase %s: %v", p.Spec.NodeName, p.Status.Phase, err)
	}
	if _, err := c.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(pvc.UID), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a volume for huge: %v", err)
	}
	if entries, err := os.ReadDir(small.dir); err != nil || len(entries) != 0 {
		t.Errorf("the small node's storage directory: %v %v, want it empty", entries, err)
	}

	// The small node's disk grows: its new capacity is published, and
	// the pod goes there.
	small.free.Store(2 << 40)
	published(t, s, small.name, "2Ti")
	if node := podNode("huge"); node != small.name {
		t.Errorf("pod huge on %s, want %s", node, small.name)
	}
	f.bound(pvc)

	// A node that goes takes its capacities with it (the garbage
	// collector, by the owner reference).
	if err := c.CoreV1().Nodes().Delete(ctx, roomy.name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the removed node's capacity gone", func(ctx context.Context) (bool, error) {
		_, err := c.StorageV1().CSIStorageCapacities("kube-system").Get(ctx, roomyCap.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
