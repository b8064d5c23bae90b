package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const selectedNodeAnn = "volume.kubernetes.io/selected-node"

func storageClass(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func pvc(name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// localVolume is a 1Gi local volume on node.
func localVolume(name, class, node string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              class,
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/" + name}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}},
				}}},
			}},
		},
	}
}

func withClaim(claim string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
	}
}

func mustCreate[T any](t *testing.T, create func(context.Context, T, metav1.CreateOptions) (T, error), objs ...T) {
	t.Helper()
	for _, o := range objs {
		if _, err := create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
}

// waitClaim waits until the claim satisfies ok and returns it.
func waitClaim(t *testing.T, c kubernetes.Interface, name, what string, ok func(*corev1.PersistentVolumeClaim) bool) *corev1.PersistentVolumeClaim {
	t.Helper()
	var got *corev1.PersistentVolumeClaim
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = p
		return ok(p), nil
	})
	if err != nil {
		t.Fatalf("claim %s never %s: %v (last: annotations %v, volume %q, phase %s)", name, what, err, got.Annotations, got.Spec.VolumeName, got.Status.Phase)
	}
	return got
}

func bound(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound }

// waitEventContaining waits for an event about a pod with the reason
// and a message containing part, and returns the message.
func waitEventContaining(t *testing.T, c kubernetes.Interface, pod, reason, part string) string {
	t.Helper()
	var seen []string
	var msg string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range evs.Items {
			seen = append(seen, e.Reason+": "+e.Message)
			if e.Reason == reason && strings.Contains(e.Message, part) {
				msg = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for %s containing %q; events: %q", reason, pod, part, seen)
	}
	return msg
}

// TestWaitForFirstConsumer drives the scheduler's binding of delayed
// claims with the persistentvolume-binder, as a user sees it through
// the API: a claim binds to a local volume on the node the pod lands
// on; a claim of a provisioner's class gets the pod's node for the
// provisioner, and the pod waits for the volume; a provisioner giving
// the node back makes the scheduler try again; an unbound immediate
// claim keeps its pod pending.
func TestWaitForFirstConsumer(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControlPlane("scheduler")
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"persistentvolume-binder"}
		o.LeaderElect = false
	})
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 2}).Names()
	c := s.Client
	mustCreate(t, c.StorageV1().StorageClasses().Create,
		storageClass("local-static", "kubernetes.io/no-provisioner", storagev1.VolumeBindingWaitForFirstConsumer),
		storageClass("test-provisioned", "example.com/test", storagev1.VolumeBindingWaitForFirstConsumer),
		storageClass("now", "example.com/test", storagev1.VolumeBindingImmediate))

	t.Run("static", func(t *testing.T) {
		mustCreate(t, c.CoreV1().PersistentVolumes().Create,
			localVolume("local-"+nodes[0], "local-static", nodes[0]), localVolume("local-"+nodes[1], "local-static", nodes[1]))
		mustCreate(t, c.CoreV1().PersistentVolumeClaims("default").Create, pvc("first", "local-static"), pvc("second", "local-static"))
		create(t, c, pod("first", withClaim("first")))
		node := waitBound(t, c, "first")
		claim := waitClaim(t, c, "first", "Bound", bound)
		if claim.Spec.VolumeName != "local-"+node {
			t.Errorf("pod on %s, claim bound to %s", node, claim.Spec.VolumeName)
		}
		pv, err := c.CoreV1().PersistentVolumes().Get(context.Background(), claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ref := pv.Spec.ClaimRef; ref == nil || ref.UID != claim.UID || pv.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
			t.Errorf("volume %s: claimRef %+v, annotations %v", pv.Name, pv.Spec.ClaimRef, pv.Annotations)
		}
		// The first volume is taken: the second pod goes where the other one is.
		create(t, c, pod("second", withClaim("second")))
		other := waitBound(t, c, "second")
		if other == node {
			t.Errorf("both pods on %s", node)
		}
		if claim := waitClaim(t, c, "second", "Bound", bound); claim.Spec.VolumeName != "local-"+other {
			t.Errorf("second pod on %s, claim bound to %s", other, claim.Spec.VolumeName)
		}
	})

	t.Run("provisioned", func(t *testing.T) {
		mustCreate(t, c.CoreV1().PersistentVolumeClaims("default").Create, pvc("dyn", "test-provisioned"))
		create(t, c, pod("dyn", withClaim("dyn")))
		selected := func(p *corev1.PersistentVolumeClaim) bool { return p.Annotations[selectedNodeAnn] != "" }
		claim := waitClaim(t, c, "dyn", "handed to the provisioner", selected)
		first := claim.Annotations[selectedNodeAnn]
		if p := getPod(t, c, "dyn"); p.Spec.NodeName != "" {
			t.Fatalf("pod bound to %s before its volume exists", p.Spec.NodeName)
		}

		// The provisioner cannot make the volume there: it gives the node back.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := c.CoreV1().PersistentVolumeClaims("default").Get(context.Background(), "dyn", metav1.GetOptions{})
			if err != nil {
				return err
			}
			delete(cur.Annotations, selectedNodeAnn)
			_, err = c.CoreV1().PersistentVolumeClaims("default").Update(context.Background(), cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		msg := waitEventContaining(t, c, "dyn", "FailedScheduling", `running PreBind plugin "VolumeBinding": binding volumes:`)
		if !strings.Contains(msg, `PVC "dyn"`) {
			t.Errorf("FailedScheduling %q does not name the claim", msg)
		}
		claim = waitClaim(t, c, "dyn", "handed to the provisioner again", selected)
		node := claim.Annotations[selectedNodeAnn]
		t.Logf("provisioning asked on %s, then on %s", first, node)
		if p := getPod(t, c, "dyn"); p.Spec.NodeName != "" {
			t.Fatalf("pod bound to %s before its volume exists", p.Spec.NodeName)
		}

		// The provisioner makes the volume, pre-bound to the claim.
		pv := localVolume("pvc-"+string(claim.UID), "test-provisioned", node)
		pv.Annotations = map[string]string{"pv.kubernetes.io/provisioned-by": "example.com/test"}
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "default", Name: "dyn", UID: claim.UID}
		mustCreate(t, c.CoreV1().PersistentVolumes().Create, pv)
		if got := waitBound(t, c, "dyn"); got != node {
			t.Errorf("pod bound to %s, its volume is on %s", got, node)
		}
		if claim := waitClaim(t, c, "dyn", "Bound", bound); claim.Spec.VolumeName != pv.Name {
			t.Errorf("claim bound to %q, want %q", claim.Spec.VolumeName, pv.Name)
		}
		waitEvent(t, c, "dyn", "Scheduled")
	})

	t.Run("immediate", func(t *testing.T) {
		mustCreate(t, c.CoreV1().PersistentVolumeClaims("default").Create, pvc("now", "now"))
		create(t, c, pod("now", withClaim("now")))
		msg := waitEventContaining(t, c, "now", "FailedScheduling", "pod has unbound immediate PersistentVolumeClaims")
		if want := "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."; !strings.HasPrefix(msg, want) {
			t.Errorf("FailedScheduling %q, want it to start with %q", msg, want)
		}
		// The event and the pod's condition are written separately: wait
		// for the condition too.
		err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			cond := condition(getPod(t, c, "now"), corev1.PodScheduled)
			return cond != nil && cond.Reason == corev1.PodReasonUnschedulable, nil
		})
		if p := getPod(t, c, "now"); err != nil || p.Spec.NodeName != "" {
			t.Errorf("pod on %q, PodScheduled %+v", p.Spec.NodeName, condition(p, corev1.PodScheduled))
		}
	})
}
