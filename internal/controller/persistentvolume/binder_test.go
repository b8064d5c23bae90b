package persistentvolume_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	start := time.Now()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	t.Logf("%s after %v", what, time.Since(start))
}

type fixture struct {
	t *testing.T
	c kubernetes.Interface
}

func (f fixture) volume(name, class, size string, mutate ...func(*corev1.PersistentVolume)) {
	f.t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              class,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/volumes/" + name}},
		},
	}
	for _, m := range mutate {
		m(pv)
	}
	if _, err := f.c.CoreV1().PersistentVolumes().Create(context.Background(), pv, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f fixture) claim(name string, class *string, size string, mutate ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	for _, m := range mutate {
		m(pvc)
	}
	out, err := f.c.CoreV1().PersistentVolumeClaims("default").Create(context.Background(), pvc, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// available waits until the binder has seen each volume (Available): a
// claim created sooner may bind to the best of those seen so far.
func (f fixture) available(volumes ...string) {
	f.t.Helper()
	for _, v := range volumes {
		until(f.t, "volume "+v+" available", func(ctx context.Context) (bool, error) {
			pv, err := f.c.CoreV1().PersistentVolumes().Get(ctx, v, metav1.GetOptions{})
			return err == nil && pv.Status.Phase == corev1.VolumeAvailable, err
		})
	}
}

// boundTo waits for claim to be Bound to volume, both ways.
func (f fixture) boundTo(claim, volume string) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) {
	f.t.Helper()
	var pvc *corev1.PersistentVolumeClaim
	var pv *corev1.PersistentVolume
	until(f.t, "claim "+claim+" bound to "+volume, func(ctx context.Context) (bool, error) {
		var err error
		if pvc, err = f.c.CoreV1().PersistentVolumeClaims("default").Get(ctx, claim, metav1.GetOptions{}); err != nil {
			return false, err
		}
		if pv, err = f.c.CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{}); err != nil {
			return false, err
		}
		return pvc.Status.Phase == corev1.ClaimBound && pv.Status.Phase == corev1.VolumeBound, nil
	})
	if pvc.Spec.VolumeName != volume {
		f.t.Fatalf("claim %s bound to %q, want %s", claim, pvc.Spec.VolumeName, volume)
	}
	return pvc, pv
}

// event waits for an event of reason on the named object and returns
// its message.
func (f fixture) event(kind, name, reason string) string {
	f.t.Helper()
	var msg string
	until(f.t, reason+" event on "+name, func(ctx context.Context) (bool, error) {
		list, err := f.c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason,
		}.String()})
		if err != nil || len(list.Items) == 0 {
			return false, err
		}
		msg = list.Items[0].Message
		return true, nil
	})
	return msg
}

// TestBinder drives the persistentvolume-binder as a user would: static
// volumes and claims, the default class local-path and its
// WaitForFirstConsumer hand-off, reclaim, and what kubectl shows.
func TestBinder(t *testing.T) {
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.LocalStorage = true })
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"persistentvolume-binder", "persistentvolumeclaim-protection", "persistentvolume-protection"}
		o.LeaderElect = false
	})
	ctx := context.Background()
	c := s.Client
	f := fixture{t, c}

	// A static volume and a claim of its class.
	f.volume("pv-1", "manual", "1Gi")
	created := f.claim("claim-1", ptr.To("manual"), "1Gi")
	pvc, pv := f.boundTo("claim-1", "pv-1")
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "claim-1" || ref.Namespace != "default" || ref.UID != created.UID {
		t.Errorf("volume's claimRef = %+v, want default/claim-1 uid %s", ref, created.UID)
	}
	if pv.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
		t.Errorf("volume annotations = %v", pv.Annotations)
	}
	if pvc.Annotations["pv.kubernetes.io/bind-completed"] != "yes" || pvc.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
		t.Errorf("claim annotations = %v", pvc.Annotations)
	}
	if q := pvc.Status.Capacity[corev1.ResourceStorage]; q.String() != "1Gi" || len(pvc.Status.AccessModes) != 1 || pvc.Status.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("claim status = %+v", pvc.Status)
	}

	// The smallest of three that fits.
	f.volume("tier-small", "tiers", "1Gi")
	f.volume("tier-big", "tiers", "10Gi")
	f.volume("tier-mid", "tiers", "3Gi")
	f.available("tier-small", "tier-big", "tier-mid")
	f.claim("tiered", ptr.To("tiers"), "2Gi")
	pvc, _ = f.boundTo("tiered", "tier-mid")
	if q := pvc.Status.Capacity[corev1.ResourceStorage]; q.String() != "3Gi" {
		t.Errorf("capacity of a claim bound to a larger volume = %s, want the volume's 3Gi", q.String())
	}

	// A selector.
	f.volume("plain", "sel", "1Gi")
	f.volume("fast-disk", "sel", "5Gi", func(pv *corev1.PersistentVolume) { pv.Labels = map[string]string{"disk": "ssd"} })
	f.claim("picky", ptr.To("sel"), "1Gi", func(pvc *corev1.PersistentVolumeClaim) {
		pvc.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
	})
	f.boundTo("picky", "fast-disk")

	// A volume reserved for a claim by claimRef goes to it, not to a
	// claim that asks first, and not to a smaller fit.
	f.volume("reserved-pv", "res", "5Gi", func(pv *corev1.PersistentVolume) {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "reserved"}
	})
	f.volume("open-pv", "res", "1Gi")
	f.claim("first", ptr.To("res"), "1Gi")
	f.boundTo("first", "open-pv")
	f.claim("reserved", ptr.To("res"), "1Gi")
	_, pv = f.boundTo("reserved", "reserved-pv")
	if _, ok := pv.Annotations["pv.kubernetes.io/bound-by-controller"]; ok {
		t.Errorf("a user's pre-binding marked as the controller's: %v", pv.Annotations)
	}

	// What kubectl shows.
	out := s.MustKubectl("get", "pvc,pv")
	for _, want := range [][]string{
		{"persistentvolumeclaim/claim-1", "Bound", "pv-1", "1Gi", "RWO", "manual"},
		{"persistentvolumeclaim/tiered", "Bound", "tier-mid", "3Gi", "RWO", "tiers"},
		{"persistentvolume/pv-1", "1Gi", "RWO", "Retain", "Bound", "default/claim-1", "manual"},
	} {
		if !hasRow(out, want) {
			t.Errorf("kubectl get pvc,pv: no row %v in\n%s", want, out)
		}
	}
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if strings.Join(header[:7], " ") != "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS" {
		t.Errorf("claim columns = %v", header)
	}

	// Retain: the volume is Released when its claim goes, and stays.
	if err := c.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "claim-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "pv-1 released", func(ctx context.Context) (bool, error) {
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "pv-1", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeReleased, err
	})
	pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "pv-1", metav1.GetOptions{})
	if err != nil || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "claim-1" {
		t.Fatalf("released volume lost its claimRef: %+v %v", pv, err)
	}
	// A new claim of the same class does not get the released volume.
	f.claim("after", ptr.To("manual"), "1Gi")
	f.event("PersistentVolumeClaim", "after", "ProvisioningFailed")
	if p, _ := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "after", metav1.GetOptions{}); p.Spec.VolumeName != "" {
		t.Errorf("a claim got a released volume: %s", p.Spec.VolumeName)
	}

	// A claim without a class gets local-path and waits for its first
	// consumer.
	pvc = f.claim("data", nil, "1Gi")
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local-path" {
		t.Fatalf("storageClassName = %v, want local-path", pvc.Spec.StorageClassName)
	}
	if msg := f.event("PersistentVolumeClaim", "data", "WaitForFirstConsumer"); msg != "waiting for first consumer to be created before binding" {
		t.Errorf("WaitForFirstConsumer message %q", msg)
	}
	if pvc, _ := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{}); pvc.Annotations["volume.kubernetes.io/storage-provisioner"] != "" {
		t.Errorf("provisioner asked before a node was chosen: %v", pvc.Annotations)
	}
	// The scheduler's choice of a node hands it to the provisioner.
	pvc, err = c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	metav1.SetMetaDataAnnotation(&pvc.ObjectMeta, "volume.kubernetes.io/selected-node", "node-1")
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the provisioner annotations", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		return err == nil && p.Annotations["volume.kubernetes.io/storage-provisioner"] == "kemudi.io/local-path" &&
			p.Annotations["volume.beta.kubernetes.io/storage-provisioner"] == "kemudi.io/local-path", err
	})
	want := "Waiting for a volume to be created either by the external provisioner 'kemudi.io/local-path' or manually by the system administrator. " +
		"If volume creation is delayed, please verify that the provisioner is running and correctly registered."
	if msg := f.event("PersistentVolumeClaim", "data", "ExternalProvisioning"); msg != want {
		t.Errorf("ExternalProvisioning message %q", msg)
	}
	if p, _ := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{}); p.Status.Phase != corev1.ClaimPending {
		t.Errorf("claim phase %s, want Pending until a volume exists", p.Status.Phase)
	}
	// The provisioner's volume (here made by hand, as a provisioner
	// would: pre-bound, provisioned-by, Delete) is bound to the claim.
	f.volume("pvc-data", "local-path", "1Gi", func(pv *corev1.PersistentVolume) {
		pv.Annotations = map[string]string{"pv.kubernetes.io/provisioned-by": "kemudi.io/local-path"}
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "data", UID: pvc.UID}
	})
	f.boundTo("data", "pvc-data")
	// Delete with an external provisioner: Released, left to it.
	if err := c.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "pvc-data released", func(ctx context.Context) (bool, error) {
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "pvc-data", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeReleased, err
	})

	// Delete with no deleter for the volume: Failed, with upstream's
	// message.
	f.volume("local-disk", "failing", "1Gi", func(pv *corev1.PersistentVolume) {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
		pv.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}}
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}},
		}}}}
	})
	f.claim("doomed", ptr.To("failing"), "1Gi")
	f.boundTo("doomed", "local-disk")
	if err := c.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "local-disk failed", func(ctx context.Context) (bool, error) {
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "local-disk", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeFailed, err
	})
	wantMsg := `error getting deleter volume plugin for volume "local-disk": no volume plugin matched`
	if pv, _ := c.CoreV1().PersistentVolumes().Get(ctx, "local-disk", metav1.GetOptions{}); pv.Status.Message != wantMsg {
		t.Errorf("failed volume's message %q, want %q", pv.Status.Message, wantMsg)
	}
	if msg := f.eventCluster("PersistentVolume", "local-disk", "VolumeFailedDelete"); msg != wantMsg {
		t.Errorf("VolumeFailedDelete message %q", msg)
	}

	// Delete of a hostPath volume under /tmp: upstream's in-tree deleter
	// removes the directory, then the volume.
	dir := filepath.Join(t.TempDir(), "scratch")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.volume("scratch", "scratch", "1Gi", func(pv *corev1.PersistentVolume) {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
		pv.Spec.HostPath.Path = dir
	})
	f.claim("scratch", ptr.To("scratch"), "1Gi")
	f.boundTo("scratch", "scratch")
	if err := c.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "scratch", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the scratch volume deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, "scratch", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the deleted volume's directory is still there: %v", err)
	}

	// A claim made while there is no default class gets one when a
	// default appears (upstream's retroactive default class).
	if err := c.StorageV1().StorageClasses().Delete(ctx, "local-path", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "local-path gone from admission's view", func(ctx context.Context) (bool, error) {
		_, err := c.StorageV1().StorageClasses().Get(ctx, "local-path", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	f.claim("early", nil, "1Gi")
	if msg := f.event("PersistentVolumeClaim", "early", "FailedBinding"); msg != "no persistent volumes available for this claim and no storage class is set" {
		t.Errorf("FailedBinding message %q", msg)
	}
	mode := storagev1.VolumeBindingImmediate
	if _, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "late-default", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "example.com/late",
		VolumeBindingMode: &mode,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the late default class on the early claim", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "early", metav1.GetOptions{})
		return err == nil && p.Spec.StorageClassName != nil && *p.Spec.StorageClassName == "late-default", err
	})
	// An Immediate class with an external provisioner is handed over at once.
	if msg := f.event("PersistentVolumeClaim", "early", "ExternalProvisioning"); !strings.Contains(msg, "'example.com/late'") {
		t.Errorf("ExternalProvisioning message %q", msg)
	}
}

// eventCluster is event for a cluster-scoped object (its events live in
// "default").
func (f fixture) eventCluster(kind, name, reason string) string {
	f.t.Helper()
	return f.event(kind, name, reason)
}

// hasRow reports whether a line of a kubectl table has the cells in
// order, as whole fields.
func hasRow(out string, cells []string) bool {
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != cells[0] {
			continue
		}
		i := 1
		for _, fld := range fields[1:] {
			if i < len(cells) && fld == cells[i] {
				i++
			}
		}
		if i == len(cells) {
			return true
		}
	}
	return false
}
