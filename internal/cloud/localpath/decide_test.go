package localpath

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

func testClass(mutate ...func(*storagev1.StorageClass)) *storagev1.StorageClass {
	c := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "local-path"},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

// testClaim is a claim as the scheduler and the persistentvolume-binder
// leave it for node-1.
func testClaim(mutate ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop", UID: "1234", Annotations: map[string]string{
			storagehelpers.AnnSelectedNode:           "node-1",
			storagehelpers.AnnStorageProvisioner:     Provisioner,
			storagehelpers.AnnBetaStorageProvisioner: Provisioner,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To("local-path"),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}},
		},
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func TestDecideProvision(t *testing.T) {
	annotate := func(k, v string) func(*corev1.PersistentVolumeClaim) {
		return func(c *corev1.PersistentVolumeClaim) {
			if v == "" {
				delete(c.Annotations, k)
			} else {
				c.Annotations[k] = v
			}
		}
	}
	for _, tc := range []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		class *storagev1.StorageClass
		want  ProvisionStep
		msg   string
	}{
		{"placed on this node", testClaim(), testClass(), Provision, ""},
		{"beta provisioner annotation only", testClaim(annotate(storagehelpers.AnnStorageProvisioner, "")), testClass(), Provision, ""},
		{"placed on another node", testClaim(annotate(storagehelpers.AnnSelectedNode, "node-2")), testClass(), ProvisionSkip, ""},
		{"not placed yet", testClaim(annotate(storagehelpers.AnnSelectedNode, "")), testClass(), ProvisionSkip, ""},
		{"handed to another provisioner", testClaim(annotate(storagehelpers.AnnStorageProvisioner, "example.com/nfs"), annotate(storagehelpers.AnnBetaStorageProvisioner, "example.com/nfs")), testClass(), ProvisionSkip, ""},
		{"not handed to a provisioner yet", testClaim(annotate(storagehelpers.AnnStorageProvisioner, ""), annotate(storagehelpers.AnnBetaStorageProvisioner, "")), testClass(), ProvisionSkip, ""},
		{"class of another provisioner", testClaim(), testClass(func(c *storagev1.StorageClass) { c.Provisioner = "example.com/nfs" }), ProvisionSkip, ""},
		{"class missing", testClaim(), nil, ProvisionSkip, ""},
		{"bound already", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" }), testClass(), ProvisionSkip, ""},
		{"being deleted", testClaim(func(c *corev1.PersistentVolumeClaim) { c.DeletionTimestamp = &metav1.Time{Time: time.Now()} }), testClass(), ProvisionSkip, ""},
		{"block", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }), testClass(),
			ProvisionRefuse, "kemudi.io/local-path does not support block volume provisioning"},
		{"data source", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "old"}
		}), testClass(), ProvisionRefuse, `failed to provision volume with StorageClass "local-path": data source PersistentVolumeClaim "old" is not supported`},
		{"block on another node is not ours to refuse", testClaim(annotate(storagehelpers.AnnSelectedNode, "node-2"), func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
		}), testClass(), ProvisionSkip, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideProvision(tc.claim, tc.class, "node-1")
			if got.Step != tc.want || !strings.HasPrefix(got.Message, tc.msg) {
				t.Errorf("DecideProvision = %+v, want step %v message %q...", got, tc.want, tc.msg)
			}
		})
	}
}

func TestVolumeFor(t *testing.T) {
	class := testClass(func(c *storagev1.StorageClass) {
		c.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
		c.MountOptions = []string{"noatime"}
	})
	claim := testClaim(func(c *corev1.PersistentVolumeClaim) {
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}
	})
	path := VolumePath("/var/lib/kemudi/agent/storage", claim)
	if path != "/var/lib/kemudi/agent/storage/pvc-1234_shop_data" {
		t.Errorf("VolumePath = %s", path)
	}
	got := VolumeFor(claim, class, "host-1", path)
	want := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-1234", Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": "kemudi.io/local-path"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "shop", Name: "data", UID: "1234"},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "local-path",
			MountOptions:                  []string{"noatime"},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"host-1"}}},
			}}}},
		},
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("VolumeFor =\n%+v\nwant\n%+v", got, want)
	}
	if h := Hostname(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}); h != "node-1" {
		t.Errorf("Hostname without the label = %q, want the node's name", h)
	}
}

func TestCheckFree(t *testing.T) {
	for _, tc := range []struct {
		request string
		free    uint64
		err     string
	}{
		{"2Gi", 3 << 30, ""},
		{"2Gi", 2 << 30, ""},
		{"2Gi", 2<<30 - 1, "the claim asks 2Gi, node node-1 has 2.0Gi free in /s"},
		{"1Pi", 12<<30 + 700<<20, "the claim asks 1Pi, node node-1 has 12.7Gi free in /s"},
		{"1", 0, "the claim asks 1, node node-1 has 0 free in /s"},
	} {
		err := CheckFree(resource.MustParse(tc.request), tc.free, "node-1", "/s")
		if got := errString(err); got != tc.err {
			t.Errorf("CheckFree(%s, %d) = %q, want %q", tc.request, tc.free, got, tc.err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func testVolume(mutate ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	v := VolumeFor(testClaim(), testClass(), "host-1", "/data/storage/pvc-1234_shop_data")
	v.Status.Phase = corev1.VolumeReleased
	for _, m := range mutate {
		m(v)
	}
	return v
}

func TestDecideDelete(t *testing.T) {
	path := func(p string) func(*corev1.PersistentVolume) {
		return func(v *corev1.PersistentVolume) { v.Spec.Local.Path = p }
	}
	for _, tc := range []struct {
		name string
		pv   *corev1.PersistentVolume
		want DeleteStep
	}{
		{"released, Delete", testVolume(), Delete},
		{"bound", testVolume(func(v *corev1.PersistentVolume) { v.Status.Phase = corev1.VolumeBound }), DeleteKeep},
		{"available", testVolume(func(v *corev1.PersistentVolume) { v.Status.Phase = corev1.VolumeAvailable }), DeleteKeep},
		{"failed", testVolume(func(v *corev1.PersistentVolume) { v.Status.Phase = corev1.VolumeFailed }), DeleteKeep},
		{"retain", testVolume(func(v *corev1.PersistentVolume) {
			v.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		}), DeleteKeep},
		{"being deleted", testVolume(func(v *corev1.PersistentVolume) { v.DeletionTimestamp = &metav1.Time{Time: time.Now()} }), DeleteKeep},
		{"another node's", testVolume(func(v *corev1.PersistentVolume) {
			v.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"host-2"}
		}), DeleteKeep},
		{"two nodes named", testVolume(func(v *corev1.PersistentVolume) {
			v.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"host-1", "host-2"}
		}), DeleteKeep},
		{"no node affinity", testVolume(func(v *corev1.PersistentVolume) { v.Spec.NodeAffinity = nil }), DeleteKeep},
		{"another provisioner's", testVolume(func(v *corev1.PersistentVolume) {
			v.Annotations[storagehelpers.AnnDynamicallyProvisioned] = "example.com/nfs"
		}), DeleteKeep},
		{"outside the storage dir", testVolume(path("/etc")), DeleteRefuse},
		{"the storage dir itself", testVolume(path("/data/storage")), DeleteRefuse},
		{"the storage dir, with a slash", testVolume(path("/data/storage/")), DeleteRefuse},
		{"out through ..", testVolume(path("/data/storage/../kubelet")), DeleteRefuse},
		{"deeper", testVolume(path("/data/storage/pvc-1/sub")), DeleteRefuse},
		{"relative", testVolume(path("storage/pvc-1")), DeleteRefuse},
		{"a sibling sharing the prefix", testVolume(path("/data/storage-other/pvc-1")), DeleteRefuse},
		{"not a local volume", testVolume(func(v *corev1.PersistentVolume) {
			v.Spec.Local = nil
			v.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/data/storage/pvc-1"}
		}), DeleteRefuse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideDelete(tc.pv, "host-1", "/data/storage")
			if got.Step != tc.want {
				t.Errorf("DecideDelete = %+v, want step %v", got, tc.want)
			}
			if got.Step == DeleteRefuse && got.Message == "" {
				t.Error("a refusal without a message")
			}
		})
	}
}

func TestDecideExpand(t *testing.T) {
	expandable := testClass(func(c *storagev1.StorageClass) { c.AllowVolumeExpansion = ptr.To(true) })
	bound := func(request, status string) *corev1.PersistentVolumeClaim {
		return testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeName = "pvc-1234"
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(request)
			c.Status.Phase = corev1.ClaimBound
			c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(status)}
		})
	}
	sized := func(size string) *corev1.PersistentVolume {
		return testVolume(func(v *corev1.PersistentVolume) {
			v.Status.Phase = corev1.VolumeBound
			v.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse(size)
		})
	}
	for _, tc := range []struct {
		name       string
		claim      *corev1.PersistentVolumeClaim
		pv         *corev1.PersistentVolume
		class      *storagev1.StorageClass
		want       ExpandStep
		size, grow string
	}{
		{"grown", bound("5Gi", "2Gi"), sized("2Gi"), expandable, ExpandVolume, "5Gi", "3Gi"},
		{"volume grown, claim not told", bound("5Gi", "2Gi"), sized("5Gi"), expandable, ExpandRecord, "5Gi", "0"},
		{"same size", bound("2Gi", "2Gi"), sized("2Gi"), expandable, ExpandNone, "0", "0"},
		{"class does not allow it", bound("5Gi", "2Gi"), sized("2Gi"), testClass(), ExpandNone, "0", "0"},
		{"another node's volume", bound("5Gi", "2Gi"), sized("2Gi"), expandable, ExpandNone, "0", "0"},
		{"no class", bound("5Gi", "2Gi"), sized("2Gi"), nil, ExpandNone, "0", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := "host-1"
			if tc.name == "another node's volume" {
				host = "host-2"
			}
			got := DecideExpand(tc.claim, tc.pv, tc.class, host)
			if got.Step != tc.want || got.Size.Cmp(resource.MustParse(tc.size)) != 0 || got.Grow.Cmp(resource.MustParse(tc.grow)) != 0 {
				t.Errorf("DecideExpand = step %v size %s grow %s, want %v %s %s", got.Step, got.Size.String(), got.Grow.String(), tc.want, tc.size, tc.grow)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(time.Second, 5*time.Second)
	now := time.Unix(1000, 0)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, b.failed("ns/c", "u1", now))
	}
	if want := []time.Duration{1, 2, 4, 5, 5}; !equalSeconds(waits, want) {
		t.Errorf("backoff waits = %v, want %v s", waits, want)
	}
	if d := b.wait("ns/c", "u1", now.Add(time.Second)); d != 4*time.Second {
		t.Errorf("wait = %v, want 4s", d)
	}
	if d := b.wait("ns/c", "u2", now); d != 0 {
		t.Errorf("a new claim of the same name waits %v", d)
	}
	b.forget("ns/c")
	if d := b.wait("ns/c", "u1", now); d != 0 {
		t.Errorf("wait after forget = %v", d)
	}
}

func equalSeconds(got, want []time.Duration) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i]*time.Second {
			return false
		}
	}
	return true
}
