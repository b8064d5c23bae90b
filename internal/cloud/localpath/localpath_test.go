package localpath_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cloud/localpath"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

const selectedNode = "volume.kubernetes.io/selected-node"

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	start := time.Now()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

type fixture struct {
	t   *testing.T
	c   kubernetes.Interface
	dir string
}

// claim creates a claim as the scheduler and the persistentvolume-binder
// leave one placed on node-1: selected-node and storage-provisioner.
func (f fixture) claim(name, class, size string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{
			selectedNode: "node-1",
			"volume.kubernetes.io/storage-provisioner":      localpath.Provisioner,
			"volume.beta.kubernetes.io/storage-provisioner": localpath.Provisioner,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	out, err := f.c.CoreV1().PersistentVolumeClaims("default").Create(context.Background(), pvc, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f fixture) class(name string, reclaim corev1.PersistentVolumeReclaimPolicy, expand bool) {
	f.t.Helper()
	_, err := f.c.StorageV1().StorageClasses().Create(context.Background(), &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: name},
		Provisioner:          localpath.Provisioner,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: &expand,
	}, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
}

// bound waits for the claim to be Bound to its provisioned volume.
func (f fixture) bound(claim *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	f.t.Helper()
	var pv *corev1.PersistentVolume
	until(f.t, "claim "+claim.Name+" bound", func(ctx context.Context) (bool, error) {
		pvc, err := f.c.CoreV1().PersistentVolumeClaims("default").Get(ctx, claim.Name, metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return false, err
		}
		pv, err = f.c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeBound, err
	})
	if want := "pvc-" + string(claim.UID); pv.Name != want {
		f.t.Fatalf("claim %s bound to %s, want %s", claim.Name, pv.Name, want)
	}
	return pv
}

func (f fixture) volumePhase(name string, phase corev1.PersistentVolumePhase) {
	f.t.Helper()
	until(f.t, "volume "+name+" "+string(phase), func(ctx context.Context) (bool, error) {
		pv, err := f.c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && pv.Status.Phase == phase, err
	})
}

// event waits for an event of reason on the named object and returns
// its message.
func (f fixture) event(name, reason string) string {
	f.t.Helper()
	return f.eventWhere(fields.Set{"involvedObject.name": name, "reason": reason}, "")
}

// eventWhere waits for an event the field set selects (its reason and
// object) whose message contains part, and returns the message.
func (f fixture) eventWhere(set fields.Set, part string) string {
	f.t.Helper()
	var msg string
	until(f.t, set["reason"]+" event on "+set["involvedObject.name"], func(ctx context.Context) (bool, error) {
		list, err := f.c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: set.String()})
		if err != nil {
			return false, err
		}
		for _, e := range list.Items {
			if strings.Contains(e.Message, part) {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	return msg
}

func (f fixture) deleteClaim(name string) {
	f.t.Helper()
	if err := f.c.CoreV1().PersistentVolumeClaims("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// TestProvisioner runs one node's provisioner, with the node's client
// certificate, against a real API server and the persistentvolume-binder:
// claims placed on the node get a directory and a volume that binds,
// a claim too big for the node goes back to the scheduler, released
// volumes are deleted or kept by their reclaim policy, nothing outside
// the node's storage directory is removed, and volumes grow.
func TestProvisioner(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.LocalStorage = true })
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"persistentvolume-binder", "persistentvolumeclaim-protection", "persistentvolume-protection"}
		o.LeaderElect = false
	})
	ctx := context.Background()
	c := s.Client
	// The node as its kubelet registers it; its hostname label is what
	// volumes' node affinity names.
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: "node-1", Labels: map[string]string{corev1.LabelHostname: "host-1"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := cluster.LocalPathDir(t.TempDir())
	node := s.UserIdentity("system:node:node-1", "system:nodes")
	// The provisioner as the agent runs it; stop ends it (at the latest
	// when the test ends).
	start := func() (stop func()) {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- localpath.Run(runCtx, node.Config, localpath.Options{NodeName: "node-1", Dir: dir, RetryStart: 100 * time.Millisecond})
		}()
		var once sync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("provisioner: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return stop
	}
	stop := start()
	f := fixture{t, c, dir}

	// The node's free space, as statfs reads it for the storage
	// directory's filesystem (the data dir's: the provisioner makes
	// the directory), is published for the class.
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(filepath.Dir(dir)), &st); err != nil {
		t.Fatal(err)
	}
	until(t, "node-1's free space published", func(ctx context.Context) (bool, error) {
		list, err := c.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/hostname=host-1"})
		if err != nil || len(list.Items) != 1 {
			return false, err
		}
		got := list.Items[0]
		size := int64(st.Blocks * uint64(st.Bsize))
		return got.StorageClassName == "local-path" && got.Capacity.Value() > 0 && got.Capacity.Value() <= size &&
			got.MaximumVolumeSize.Cmp(*got.Capacity) == 0, nil
	})

	// A claim of the default class placed on node-1.
	claim := f.claim("data", "local-path", "1Gi")
	pv := f.bound(claim)
	path := filepath.Join(dir, "pvc-"+string(claim.UID)+"_default_data")
	switch {
	case pv.Spec.Local == nil || pv.Spec.Local.Path != path:
		t.Errorf("volume source = %+v, want local %s", pv.Spec.PersistentVolumeSource, path)
	case pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil ||
		len(pv.Spec.NodeAffinity.Required.NodeSelectorTerms) != 1 ||
		!equalStrings(pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values, "host-1"):
		t.Errorf("node affinity = %+v, want kubernetes.io/hostname In [host-1]", pv.Spec.NodeAffinity)
	case pv.Annotations["pv.kubernetes.io/provisioned-by"] != localpath.Provisioner:
		t.Errorf("annotations = %v", pv.Annotations)
	case pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete, pv.Spec.StorageClassName != "local-path":
		t.Errorf("reclaim %s class %s, want the class's Delete and local-path", pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName)
	}
	if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.String() != "1Gi" {
		t.Errorf("capacity = %s, want the claim's 1Gi", q.String())
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() || st.Mode().Perm() != 0o777 {
		t.Fatalf("volume directory: %v, %v", st, err)
	}
	if msg := f.event("data", "Provisioning"); msg != `External provisioner is provisioning volume for claim "default/data"` {
		t.Errorf("Provisioning event: %q", msg)
	}
	if msg := f.event("data", "ProvisioningSucceeded"); msg != "Successfully provisioned volume "+pv.Name {
		t.Errorf("ProvisioningSucceeded event: %q", msg)
	}
	if err := os.WriteFile(filepath.Join(path, "index.html"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A claim larger than the node's disk: refused with both figures,
	// and handed back to the scheduler.
	huge := f.claim("huge", "local-path", "1Pi")
	msg := f.event("huge", "ProvisioningFailed")
	if !strings.Contains(msg, "the claim asks 1Pi, node node-1 has ") || !strings.Contains(msg, " free in "+dir) {
		t.Errorf("ProvisioningFailed event: %q", msg)
	}
	until(t, "huge's selected-node removed", func(ctx context.Context) (bool, error) {
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "huge", metav1.GetOptions{})
		return err == nil && pvc.Annotations[selectedNode] == "", err
	})
	if _, err := c.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(huge.UID), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a volume for the refused claim: %v", err)
	}

	// Retain: the released volume and its data stay.
	f.class("local-path-retain", corev1.PersistentVolumeReclaimRetain, false)
	kept := f.claim("kept", "local-path-retain", "1Gi")
	keptPV := f.bound(kept)
	f.deleteClaim("kept")
	f.volumePhase(keptPV.Name, corev1.VolumeReleased)

	// Delete: the directory, then the volume.
	f.deleteClaim("data")
	until(t, "volume "+pv.Name+" deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the deleted volume's directory: %v", err)
	}

	// A released volume of this node whose path is outside the storage
	// directory: refused, nothing removed.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	forged := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "forged", Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": localpath.Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              "local-path",
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "gone", UID: types.UID("0000")},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: outside}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"host-1"}}},
			}}}},
		},
	}
	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, forged, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if msg := f.event("forged", "VolumeFailedDelete"); !strings.Contains(msg, "refusing to delete "+outside) {
		t.Errorf("VolumeFailedDelete event: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Errorf("data outside the storage directory: %v", err)
	}
	for _, name := range []string{"forged", keptPV.Name} {
		if got, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{}); err != nil || got.Status.Phase != corev1.VolumeReleased {
			t.Errorf("volume %s: %v (want it kept, Released)", name, err)
		}
	}
	if _, err := os.Stat(keptPV.Spec.Local.Path); err != nil {
		t.Errorf("the retained volume's directory: %v", err)
	}

	// Expansion, for a class that allows it.
	f.class("local-path-grow", corev1.PersistentVolumeReclaimDelete, true)
	grow := f.claim("grow", "local-path-grow", "1Gi")
	growPV := f.bound(grow)
	patch := []byte(`{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Patch(ctx, "grow", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "grow's volume and status at 2Gi", func(ctx context.Context) (bool, error) {
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "grow", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, growPV.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		two := resource.MustParse("2Gi")
		return pvc.Status.Capacity.Storage().Cmp(two) == 0 && pv.Spec.Capacity.Storage().Cmp(two) == 0, nil
	})
	f.event("grow", "FileSystemResizeSuccessful")

	// The agent stopped after making a claim's directory: started
	// again, the provisioner makes the volume on that directory, data
	// and all.
	stop()
	left := f.claim("left", "local-path", "1Gi")
	leftPath := filepath.Join(dir, "pvc-"+string(left.UID)+"_default_left")
	if err := os.Mkdir(leftPath, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leftPath, "half-written"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	start()
	if got := f.bound(left).Spec.Local.Path; got != leftPath {
		t.Errorf("volume path %s, want the left directory %s", got, leftPath)
	}
	if st, err := os.Stat(filepath.Join(leftPath, "half-written")); err != nil || st.Size() != 1 {
		t.Errorf("data in the reused directory: %v", err)
	}
	if st, err := os.Stat(leftPath); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("reused directory: %v %v, want mode 0777", st, err)
	}
}

func equalStrings(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}
