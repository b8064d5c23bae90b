package persistentvolume

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

type pvOpt func(*corev1.PersistentVolume)

func pv(name, size string, opts ...pvOpt) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/" + name}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

func withClass(c string) pvOpt {
	return func(v *corev1.PersistentVolume) { v.Spec.StorageClassName = c }
}
func withModes(m ...corev1.PersistentVolumeAccessMode) pvOpt {
	return func(v *corev1.PersistentVolume) { v.Spec.AccessModes = m }
}
func withLabels(l map[string]string) pvOpt { return func(v *corev1.PersistentVolume) { v.Labels = l } }
func withRef(name string, uid types.UID) pvOpt {
	return func(v *corev1.PersistentVolume) {
		v.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: name, UID: uid}
	}
}
func withPhase(p corev1.PersistentVolumePhase) pvOpt {
	return func(v *corev1.PersistentVolume) { v.Status.Phase = p }
}
func withBlock() pvOpt {
	return func(v *corev1.PersistentVolume) { v.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }
}

type pvcOpt func(*corev1.PersistentVolumeClaim)

func pvc(name, size string, opts ...pvcOpt) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func claimClass(c string) pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = &c }
}
func claimModes(m ...corev1.PersistentVolumeAccessMode) pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { p.Spec.AccessModes = m }
}
func claimSelector(l map[string]string) pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { p.Spec.Selector = &metav1.LabelSelector{MatchLabels: l} }
}
func claimVolume(v string) pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = v }
}
func claimAnn(k, v string) pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { metav1.SetMetaDataAnnotation(&p.ObjectMeta, k, v) }
}
func claimBlock() pvcOpt {
	return func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) }
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func TestBestVolume(t *testing.T) {
	rwo, rox, rwx := corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany
	three := []*corev1.PersistentVolume{pv("big", "10Gi"), pv("small", "1Gi"), pv("mid", "5Gi")}
	for _, tc := range []struct {
		name    string
		claim   *corev1.PersistentVolumeClaim
		volumes []*corev1.PersistentVolume
		delay   bool
		want    string
	}{
		{"smallest that fits", pvc("c", "2Gi"), three, false, "mid"},
		{"exact size", pvc("c", "1Gi"), three, false, "small"},
		{"none big enough", pvc("c", "20Gi"), three, false, ""},
		{"class must match", pvc("c", "1Gi", claimClass("fast")), []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "2Gi", withClass("fast"))}, false, "b"},
		{"no class matches only no class", pvc("c", "1Gi", claimClass("")), []*corev1.PersistentVolume{pv("a", "1Gi", withClass("fast")), pv("b", "2Gi")}, false, "b"},
		{"access modes a superset", pvc("c", "1Gi", claimModes(rwx)), []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "5Gi", withModes(rwo, rwx))}, false, "b"},
		{"fewest modes first, even if larger", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi", withModes(rwo, rox)), pv("b", "5Gi")}, false, "b"},
		{"selector", pvc("c", "1Gi", claimSelector(map[string]string{"tier": "db"})),
			[]*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "5Gi", withLabels(map[string]string{"tier": "db"}))}, false, "b"},
		{"volume mode", pvc("c", "1Gi", claimBlock()), []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "5Gi", withBlock())}, false, "b"},
		{"bound ones skipped", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi", withRef("other", "u"), withPhase(corev1.VolumeBound)), pv("b", "5Gi")}, false, "b"},
		{"not Available skipped", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi", withPhase(corev1.VolumePending)), pv("b", "5Gi")}, false, "b"},
		{"pre-bound by claimRef wins over a smaller", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "5Gi", withRef("c", ""))}, false, "b"},
		{"WaitForFirstConsumer: only pre-bound", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi")}, true, ""},
		{"WaitForFirstConsumer: pre-bound still", pvc("c", "1Gi"), []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "1Gi", withRef("c", ""))}, true, "b"},
	} {
		got, err := BestVolume(tc.claim, tc.volumes, tc.delay)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, name, tc.want)
		}
	}
}

func TestDecideClaim(t *testing.T) {
	wffc := class("local-path", "kemudi.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	imm := class("fast", "example.com/fast", storagev1.VolumeBindingImmediate)
	bound := func(v string) pvcOpt {
		return func(p *corev1.PersistentVolumeClaim) {
			p.Spec.VolumeName = v
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, storagehelpers.AnnBindCompleted, "yes")
			p.Status.Phase = corev1.ClaimBound
		}
	}
	for _, tc := range []struct {
		name      string
		claim     *corev1.PersistentVolumeClaim
		w         ClaimWorld
		step      ClaimStep
		volume    string
		reason    string
		msgHas    string
		wantErr   bool
		provClass string
	}{
		{"binds the best", pvc("c", "1Gi"), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("a", "1Gi")}}, ClaimBind, "a", "", "", false, ""},
		{"nothing, no class", pvc("c", "1Gi"), ClaimWorld{}, ClaimPending, "", ReasonFailedBinding,
			"no persistent volumes available for this claim and no storage class is set", false, ""},
		{"default class assigned", pvc("c", "1Gi"), ClaimWorld{Default: wffc}, ClaimSetClass, "", "", "", false, "local-path"},
		{"explicit empty class keeps none", pvc("c", "1Gi", claimClass("")), ClaimWorld{Default: wffc}, ClaimPending, "", ReasonFailedBinding, "", false, ""},
		{"wait for first consumer", pvc("c", "1Gi", claimClass("local-path")), ClaimWorld{Class: wffc}, ClaimPending, "", ReasonWaitForFirstConsumer,
			"waiting for first consumer to be created before binding", false, ""},
		{"wait for a pod", pvc("c", "1Gi", claimClass("local-path")), ClaimWorld{Class: wffc, UnscheduledPods: []string{"web"}}, ClaimPending, "", ReasonWaitForPodScheduled,
			"waiting for pod web to be scheduled", false, ""},
		{"selected node: external provisioner", pvc("c", "1Gi", claimClass("local-path"), claimAnn(storagehelpers.AnnSelectedNode, "n1")), ClaimWorld{Class: wffc},
			ClaimProvision, "", ReasonExternalProvisioning, "external provisioner 'kemudi.io/local-path'", false, ""},
		{"immediate: external provisioner at once", pvc("c", "1Gi", claimClass("fast")), ClaimWorld{Class: imm},
			ClaimProvision, "", ReasonExternalProvisioning, "If volume creation is delayed", false, ""},
		{"missing class", pvc("c", "1Gi", claimClass("gold")), ClaimWorld{}, ClaimNothing, "", ReasonProvisioningFailed,
			`storageclass.storage.k8s.io "gold" not found`, false, ""},
		{"no-provisioner class", pvc("c", "1Gi", claimClass("local")), ClaimWorld{Class: class("local", "kubernetes.io/no-provisioner", storagev1.VolumeBindingImmediate)},
			ClaimNothing, "", ReasonProvisioningFailed, "no volume plugin matched name: kubernetes.io/no-provisioner", false, ""},
		{"immediate class binds a static volume of it", pvc("c", "1Gi", claimClass("fast")), ClaimWorld{Class: imm, Volumes: []*corev1.PersistentVolume{pv("a", "1Gi", withClass("fast"))}},
			ClaimBind, "a", "", "", false, ""},
		{"wffc class does not bind an unbound static volume", pvc("c", "1Gi", claimClass("local-path")), ClaimWorld{Class: wffc, Volumes: []*corev1.PersistentVolume{pv("a", "1Gi", withClass("local-path"))}},
			ClaimPending, "", ReasonWaitForFirstConsumer, "", false, ""},
		{"claim names a volume", pvc("c", "1Gi", claimVolume("b")), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("a", "1Gi"), pv("b", "5Gi")}}, ClaimBind, "b", "", "", false, ""},
		{"claim names a missing volume", pvc("c", "1Gi", claimVolume("b")), ClaimWorld{}, ClaimPending, "", "", "", false, ""},
		{"claim names a too small volume", pvc("c", "2Gi", claimVolume("b")), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("b", "1Gi")}}, ClaimPending, "", ReasonVolumeMismatch,
			`Cannot bind to requested volume "b": requested PV is too small`, false, ""},
		{"claim names another's volume", pvc("c", "1Gi", claimVolume("b")), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("b", "1Gi", withRef("d", "uid-d"))}}, ClaimPending, "", ReasonFailedBinding,
			`volume "b" already bound to a different claim.`, false, ""},
		{"bound claim fine", pvc("c", "1Gi", bound("a")), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("a", "1Gi", withRef("c", "uid-c"))}}, ClaimBind, "a", "", "", false, ""},
		{"bound claim lost its volume", pvc("c", "1Gi", bound("a")), ClaimWorld{}, ClaimLost, "", ReasonClaimLost,
			"Bound claim has lost its PersistentVolume. Data on the volume is lost!", false, ""},
		{"bound claim, volume bound elsewhere", pvc("c", "1Gi", bound("a")), ClaimWorld{Volumes: []*corev1.PersistentVolume{pv("a", "1Gi", withRef("c", "other"))}}, ClaimLost, "", ReasonClaimMisbound, "", false, ""},
		{"wffc class without mode", pvc("c", "1Gi", claimClass("x")), ClaimWorld{Class: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}, ClaimNothing, "", "", "", true, ""},
	} {
		plan := DecideClaim(tc.claim, tc.w)
		if plan.Step != tc.step {
			t.Errorf("%s: step %d, want %d (%+v)", tc.name, plan.Step, tc.step, plan)
			continue
		}
		if tc.volume != "" && (plan.Volume == nil || plan.Volume.Name != tc.volume) {
			t.Errorf("%s: volume %v, want %s", tc.name, plan.Volume, tc.volume)
		}
		if tc.reason != "" && (plan.Event == nil || plan.Event.Reason != tc.reason || !strings.Contains(plan.Event.Message, tc.msgHas)) {
			t.Errorf("%s: event %+v, want %s %q", tc.name, plan.Event, tc.reason, tc.msgHas)
		}
		if tc.reason == "" && plan.Event != nil {
			t.Errorf("%s: unexpected event %+v", tc.name, plan.Event)
		}
		if (plan.Err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.name, plan.Err)
		}
		if tc.provClass != "" && plan.Class != tc.provClass {
			t.Errorf("%s: class %q, want %q", tc.name, plan.Class, tc.provClass)
		}
	}
}

func TestDecideVolume(t *testing.T) {
	provisioned := func(v *corev1.PersistentVolume) {
		metav1.SetMetaDataAnnotation(&v.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned, "kemudi.io/local-path")
		v.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	}
	for _, tc := range []struct {
		name  string
		vol   *corev1.PersistentVolume
		claim *corev1.PersistentVolumeClaim
		step  VolumeStep
		phase corev1.PersistentVolumePhase
	}{
		{"new volume becomes Available", pv("a", "1Gi", withPhase(corev1.VolumePending)), nil, VolumeSetPhase, corev1.VolumeAvailable},
		{"available stays", pv("a", "1Gi"), nil, VolumeNothing, ""},
		{"pre-bound is Available", pv("a", "1Gi", withRef("c", ""), withPhase(corev1.VolumePending)), nil, VolumeSetPhase, corev1.VolumeAvailable},
		{"claim gone: released", pv("a", "1Gi", withRef("c", "uid-c"), withPhase(corev1.VolumeBound)), nil, VolumeRelease, ""},
		{"claim bound to it: Bound", pv("a", "1Gi", withRef("c", "uid-c")), pvc("c", "1Gi", claimVolume("a")), VolumeSetPhase, corev1.VolumeBound},
		{"claim not bound yet: its sync", pv("a", "1Gi", withRef("c", "uid-c")), pvc("c", "1Gi"), VolumeSyncClaim, ""},
		{"mode mismatch", pv("a", "1Gi", withRef("c", "uid-c")), pvc("c", "1Gi", claimBlock()), VolumeMismatch, ""},
		{"claim bound elsewhere: unbind", pv("a", "1Gi", withRef("c", "uid-c")), pvc("c", "1Gi", claimVolume("b")), VolumeUnbind, ""},
		{"provisioned, claim bound elsewhere: release", pv("a", "1Gi", withRef("c", "uid-c"), provisioned), pvc("c", "1Gi", claimVolume("b")), VolumeRelease, ""},
	} {
		plan := DecideVolume(tc.vol, tc.claim)
		if plan.Step != tc.step || plan.Phase != tc.phase {
			t.Errorf("%s: %+v, want step %d phase %q", tc.name, plan, tc.step, tc.phase)
		}
	}
}

func TestDecideReclaim(t *testing.T) {
	policy := func(p corev1.PersistentVolumeReclaimPolicy) pvOpt {
		return func(v *corev1.PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = p }
	}
	by := func(p string) pvOpt {
		return func(v *corev1.PersistentVolume) {
			metav1.SetMetaDataAnnotation(&v.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned, p)
		}
	}
	local := func(v *corev1.PersistentVolume) {
		v.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}}
	}
	tmp := func(v *corev1.PersistentVolume) { v.Spec.HostPath.Path = "/tmp/vol-a" }
	for _, tc := range []struct {
		name   string
		vol    *corev1.PersistentVolume
		step   ReclaimStep
		reason string
		msg    string
	}{
		{"retain", pv("a", "1Gi"), ReclaimNothing, "", ""},
		{"delete, external provisioner waits", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimDelete), by("kemudi.io/local-path"), local), ReclaimNothing, "", ""},
		{"delete, local volume no deleter", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimDelete), local), ReclaimFail, ReasonVolumeFailedDelete,
			`error getting deleter volume plugin for volume "a": no volume plugin matched`},
		{"delete, hostPath outside /tmp", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimDelete)), ReclaimFail, ReasonVolumeFailedDelete,
			"host_path deleter only supports /tmp/.+ but received provided /data/a"},
		{"delete, hostPath in /tmp", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimDelete), tmp), ReclaimDeleteHostPath, "", ""},
		{"delete, in-tree name unknown", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimDelete), by("kubernetes.io/gce-pd")), ReclaimFail, ReasonVolumeFailedDelete,
			"no volume plugin matched name: kubernetes.io/gce-pd"},
		{"recycle", pv("a", "1Gi", policy(corev1.PersistentVolumeReclaimRecycle)), ReclaimFail, ReasonVolumeFailedRecycle, "No recycler plugin found for the volume!"},
		{"unknown policy", pv("a", "1Gi", policy("Shred")), ReclaimFail, ReasonVolumeUnknownReclaimPolicy, "Volume has unrecognized PersistentVolumeReclaimPolicy"},
	} {
		plan := DecideReclaim(tc.vol)
		if plan.Step != tc.step {
			t.Errorf("%s: %+v, want step %d", tc.name, plan, tc.step)
			continue
		}
		if tc.reason != "" && (plan.Event.Reason != tc.reason || plan.Event.Message != tc.msg) {
			t.Errorf("%s: event %+v, want %s %q", tc.name, plan.Event, tc.reason, tc.msg)
		}
	}
}

func TestClaimStatusAndBinding(t *testing.T) {
	vol := pv("a", "5Gi")
	claim := pvc("c", "1Gi")
	c, dirty, err := ClaimStatus(claim, corev1.ClaimBound, vol)
	if err != nil || !dirty || c.Status.Phase != corev1.ClaimBound {
		t.Fatalf("status: %+v %v %v", c.Status, dirty, err)
	}
	if q := c.Status.Capacity[corev1.ResourceStorage]; q.String() != "5Gi" || len(c.Status.AccessModes) != 1 {
		t.Errorf("bound status = %+v", c.Status)
	}
	if _, dirty, _ := ClaimStatus(c, corev1.ClaimBound, vol); dirty {
		t.Errorf("second write of the same status")
	}
	if back, dirty, _ := ClaimStatus(c, corev1.ClaimLost, nil); !dirty || back.Status.Capacity != nil {
		t.Errorf("lost status = %+v", back.Status)
	}
	b, dirty := ClaimBoundTo(claim, vol)
	if !dirty || b.Spec.VolumeName != "a" || b.Annotations[storagehelpers.AnnBindCompleted] != "yes" || b.Annotations[storagehelpers.AnnBoundByController] != "yes" {
		t.Errorf("bound claim = %+v", b.ObjectMeta.Annotations)
	}
	// A claim that named its volume is not marked bound-by-controller.
	b, _ = ClaimBoundTo(pvc("c", "1Gi", claimVolume("a")), vol)
	if _, ok := b.Annotations[storagehelpers.AnnBoundByController]; ok {
		t.Errorf("user's binding marked as the controller's")
	}
	if u := VolumeUnbound(pv("a", "1Gi", withRef("c", "uid-c"))); u.Spec.ClaimRef == nil || u.Spec.ClaimRef.UID != "" {
		t.Errorf("user's pre-binding lost: %+v", u.Spec.ClaimRef)
	}
	byCtrl := pv("a", "1Gi", withRef("c", "uid-c"))
	metav1.SetMetaDataAnnotation(&byCtrl.ObjectMeta, storagehelpers.AnnBoundByController, "yes")
	if u := VolumeUnbound(byCtrl); u.Spec.ClaimRef != nil || u.Annotations != nil {
		t.Errorf("controller's binding kept: %+v %v", u.Spec.ClaimRef, u.Annotations)
	}
}
