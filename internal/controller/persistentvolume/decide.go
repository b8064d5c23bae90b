package persistentvolume

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

// Event reasons, upstream's (pkg/controller/volume/events).
const (
	ReasonFailedBinding              = "FailedBinding"
	ReasonVolumeMismatch             = "VolumeMismatch"
	ReasonVolumeFailedRecycle        = "VolumeFailedRecycle"
	ReasonVolumeFailedDelete         = "VolumeFailedDelete"
	ReasonExternalProvisioning       = "ExternalProvisioning"
	ReasonProvisioningFailed         = "ProvisioningFailed"
	ReasonWaitForFirstConsumer       = "WaitForFirstConsumer"
	ReasonWaitForPodScheduled        = "WaitForPodScheduled"
	ReasonClaimLost                  = "ClaimLost"
	ReasonClaimMisbound              = "ClaimMisbound"
	ReasonVolumeUnknownReclaimPolicy = "VolumeUnknownReclaimPolicy"
)

// Event is one event to record on the object a plan is about.
type Event struct {
	Type, Reason, Message string
}

// ClaimStep is what a claim's sync does.
type ClaimStep int

const (
	// ClaimNothing: nothing to write (an event may still be recorded).
	ClaimNothing ClaimStep = iota
	// ClaimBind binds Volume and the claim, both ways, and marks both Bound.
	ClaimBind
	// ClaimPending keeps the claim Pending (status without capacity).
	ClaimPending
	// ClaimLost marks the claim Lost; the event goes only with the change.
	ClaimLost
	// ClaimSetClass gives the claim the default class (Class).
	ClaimSetClass
	// ClaimProvision hands the claim to the external Provisioner: its
	// storage-provisioner annotations, then the event.
	ClaimProvision
)

// ClaimPlan is the decision about one claim.
type ClaimPlan struct {
	Step        ClaimStep
	Volume      *corev1.PersistentVolume
	Class       string
	Provisioner string
	Event       *Event
	// Err is a state the controller cannot fix now (retried).
	Err error
}

// ClaimWorld is what a claim's decision reads from the caches.
type ClaimWorld struct {
	Volumes []*corev1.PersistentVolume
	// Class is the claim's StorageClass, nil when it names none or the
	// class does not exist.
	Class *storagev1.StorageClass
	// Default is the default StorageClass, nil when there is none.
	Default *storagev1.StorageClass
	// UnscheduledPods are the live pods using the claim that have no
	// node yet.
	UnscheduledPods []string
}

// DecideClaim decides what to do with a claim, as upstream's syncClaim.
func DecideClaim(claim *corev1.PersistentVolumeClaim, w ClaimWorld) ClaimPlan {
	if metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBindCompleted) {
		return decideBoundClaim(claim, w)
	}
	if claim.Spec.VolumeName != "" {
		return decidePreboundClaim(claim, w)
	}
	delay, err := delayBinding(claim, w.Class)
	if err != nil {
		return ClaimPlan{Err: err}
	}
	vol, err := BestVolume(claim, w.Volumes, delay)
	if err != nil {
		return ClaimPlan{Err: fmt.Errorf("error finding PV for claim %q: %w", claimKey(claim), err)}
	}
	if vol != nil {
		return ClaimPlan{Step: ClaimBind, Volume: vol}
	}
	// Upstream's retroactive default class: a claim made before any
	// default existed gets it now.
	if !storagehelpers.PersistentVolumeClaimHasClass(claim) && w.Default != nil {
		return ClaimPlan{Step: ClaimSetClass, Class: w.Default.Name}
	}
	switch {
	case delay && !storagehelpers.IsDelayBindingProvisioning(claim):
		return ClaimPlan{Step: ClaimPending, Event: waitEvent(w.UnscheduledPods)}
	case storagehelpers.GetPersistentVolumeClaimClass(claim) != "":
		return provisionPlan(claim, w.Class)
	default:
		return ClaimPlan{Step: ClaimPending, Event: &Event{corev1.EventTypeNormal, ReasonFailedBinding,
			"no persistent volumes available for this claim and no storage class is set"}}
	}
}

// delayBinding is upstream's IsDelayBindingMode on a looked-up class.
func delayBinding(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (bool, error) {
	if class == nil || storagehelpers.GetPersistentVolumeClaimClass(claim) == "" {
		return false, nil
	}
	if class.VolumeBindingMode == nil {
		return false, fmt.Errorf("VolumeBindingMode not set for StorageClass %q", class.Name)
	}
	return *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

func waitEvent(unscheduled []string) *Event {
	switch len(unscheduled) {
	case 0:
		return &Event{corev1.EventTypeNormal, ReasonWaitForFirstConsumer, "waiting for first consumer to be created before binding"}
	case 1:
		return &Event{corev1.EventTypeNormal, ReasonWaitForPodScheduled, fmt.Sprintf("waiting for pod %s to be scheduled", unscheduled[0])}
	default:
		return &Event{corev1.EventTypeNormal, ReasonWaitForPodScheduled, fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(unscheduled, ","))}
	}
}

// provisionPlan is upstream's provisionClaim for the controller
// manager's in-tree plugins (host-path with provisioning off, and nfs,
// fc, iscsi, csi that do not provision by name): every other
// provisioner is external, and the claim waits for it.
func provisionPlan(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) ClaimPlan {
	if class == nil {
		name := storagehelpers.GetPersistentVolumeClaimClass(claim)
		return ClaimPlan{Event: &Event{corev1.EventTypeWarning, ReasonProvisioningFailed,
			fmt.Sprintf("storageclass.storage.k8s.io %q not found", name)}}
	}
	p := class.Provisioner
	failed := func(msg string) ClaimPlan {
		return ClaimPlan{Event: &Event{corev1.EventTypeWarning, ReasonProvisioningFailed, msg}}
	}
	switch {
	case p == hostPathPlugin:
		return failed(fmt.Sprintf("Failed to create provisioner: provisioning in volume plugin %q is disabled", p))
	case inTreePlugins.Has(p):
		return failed("no provisionable volume plugin matched")
	case strings.HasPrefix(p, "kubernetes.io/"):
		return failed("no volume plugin matched name: " + p)
	}
	return ClaimPlan{Step: ClaimProvision, Provisioner: p, Event: &Event{corev1.EventTypeNormal, ReasonExternalProvisioning,
		fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' "+
			"or manually by the system administrator. If volume creation is delayed, please verify that "+
			"the provisioner is running and correctly registered.", p)}}
}

// The volume plugins upstream's controller manager has in tree.
const hostPathPlugin = "kubernetes.io/host-path"

var inTreePlugins = sets.New(hostPathPlugin, "kubernetes.io/nfs", "kubernetes.io/fc", "kubernetes.io/iscsi", "kubernetes.io/csi")

// decidePreboundClaim: the user named the volume (spec.volumeName).
func decidePreboundClaim(claim *corev1.PersistentVolumeClaim, w ClaimWorld) ClaimPlan {
	vol := volumeNamed(w.Volumes, claim.Spec.VolumeName)
	switch {
	case vol == nil:
		return ClaimPlan{Step: ClaimPending}
	case vol.Spec.ClaimRef == nil:
		if err := checkVolumeSatisfyClaim(vol, claim); err != nil {
			return ClaimPlan{Step: ClaimPending, Event: &Event{corev1.EventTypeWarning, ReasonVolumeMismatch,
				fmt.Sprintf("Cannot bind to requested volume %q: %s", vol.Name, err)}}
		}
		return ClaimPlan{Step: ClaimBind, Volume: vol}
	case storagehelpers.IsVolumeBoundToClaim(vol, claim):
		return ClaimPlan{Step: ClaimBind, Volume: vol}
	}
	ev := &Event{corev1.EventTypeWarning, ReasonFailedBinding, fmt.Sprintf("volume %q already bound to a different claim.", vol.Name)}
	if !metav1.HasAnnotation(claim.ObjectMeta, storagehelpers.AnnBoundByController) {
		return ClaimPlan{Step: ClaimPending, Event: ev}
	}
	return ClaimPlan{Event: ev, Err: fmt.Errorf("invalid binding of claim %q to volume %q: volume already claimed by %q",
		claimKey(claim), claim.Spec.VolumeName, vol.Spec.ClaimRef.Namespace+"/"+vol.Spec.ClaimRef.Name)}
}

// decideBoundClaim: the claim was bound once (bind-completed).
func decideBoundClaim(claim *corev1.PersistentVolumeClaim, w ClaimWorld) ClaimPlan {
	lost := func(reason, msg string) ClaimPlan {
		return ClaimPlan{Step: ClaimLost, Event: &Event{corev1.EventTypeWarning, reason, msg}}
	}
	if claim.Spec.VolumeName == "" {
		return lost(ReasonClaimLost, "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
	}
	vol := volumeNamed(w.Volumes, claim.Spec.VolumeName)
	switch {
	case vol == nil:
		return lost(ReasonClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
	case vol.Spec.ClaimRef == nil, vol.Spec.ClaimRef.UID == claim.UID:
		// Unbound volume: bind it again (or the cache is behind); bound
		// right: bind changes nothing or finishes the statuses.
		return ClaimPlan{Step: ClaimBind, Volume: vol}
	}
	return lost(ReasonClaimMisbound, "Two claims are bound to the same volume, this one is bound incorrectly")
}

// checkVolumeSatisfyClaim is upstream's check of a volume a claim names.
func checkVolumeSatisfyClaim(vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	requested := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := vol.Spec.Capacity[corev1.ResourceStorage]
	switch {
	case vol.DeletionTimestamp != nil:
		return fmt.Errorf("the volume is marked for deletion %q", vol.Name)
	case capacity.Value() < requested.Value():
		return fmt.Errorf("requested PV is too small")
	case storagehelpers.GetPersistentVolumeClass(vol) != storagehelpers.GetPersistentVolumeClaimClass(claim):
		return fmt.Errorf("storageClassName does not match")
	case ptr.Deref(claim.Spec.VolumeAttributesClassName, "") != ptr.Deref(vol.Spec.VolumeAttributesClassName, ""):
		return fmt.Errorf("volumeAttributesClassName does not match")
	case storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &vol.Spec):
		return fmt.Errorf("incompatible volumeMode")
	case !storagehelpers.CheckAccessModes(claim, vol):
		return fmt.Errorf("incompatible accessMode")
	}
	return nil
}

// BestVolume is the volume a claim binds to: one pre-bound to it, else
// the smallest Available one that fits (class, capacity, selector,
// volume mode, attributes class), searching the volumes with the fewest
// access modes that include the claim's first, as upstream's index.
// With delay (WaitForFirstConsumer) only pre-bound volumes count: the
// scheduler picks the others, knowing the node.
func BestVolume(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume, delay bool) (*corev1.PersistentVolume, error) {
	groups := map[string][]*corev1.PersistentVolume{}
	for _, v := range volumes {
		k := modesKey(v.Spec.AccessModes)
		groups[k] = append(groups[k], v)
	}
	keys := make([]string, 0, len(groups))
	for k, vs := range groups {
		if containsAllModes(vs[0].Spec.AccessModes, claim.Spec.AccessModes) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		ni, nj := strings.Count(keys[i], ","), strings.Count(keys[j], ",")
		if ni != nj {
			return ni < nj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		// Sorted by name, so that equal fits choose the same volume.
		vs := groups[k]
		sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
		v, err := storagehelpers.FindMatchingVolume(claim, vs, nil, nil, delay, true)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, nil
}

var modeOrder = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod}

// modesKey is a set of access modes as upstream's index spells it.
func modesKey(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range modeOrder {
		for _, x := range modes {
			if x == m {
				out = append(out, string(m))
				break
			}
		}
	}
	return strings.Join(out, ",")
}

func containsAllModes(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// VolumeStep is what a volume's sync does.
type VolumeStep int

const (
	// VolumeNothing: nothing to write.
	VolumeNothing VolumeStep = iota
	// VolumeSetPhase sets Phase (no event).
	VolumeSetPhase
	// VolumeRelease marks the volume Released, unless Released or Failed
	// already, and carries out its reclaim policy.
	VolumeRelease
	// VolumeSyncClaim leaves the binding to the claim's sync.
	VolumeSyncClaim
	// VolumeUnbind rolls back a binding the controller made (or clears
	// the uid of the user's pre-binding), and makes it Available.
	VolumeUnbind
	// VolumeMismatch records ClaimEvent on the claim and Event on the
	// volume, and nothing else.
	VolumeMismatch
)

// VolumePlan is the decision about one volume.
type VolumePlan struct {
	Step       VolumeStep
	Phase      corev1.PersistentVolumePhase
	Event      *Event
	ClaimEvent *Event
}

// DecideVolume decides what to do with a volume, as upstream's
// syncVolume, given the claim its claimRef names (nil when it does not
// exist, or exists with another uid).
func DecideVolume(vol *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) VolumePlan {
	ref := vol.Spec.ClaimRef
	switch {
	case ref == nil, ref.UID == "":
		// Unused, or reserved for a claim whose sync will bind it.
		return phasePlan(vol, corev1.VolumeAvailable)
	case claim == nil || claim.UID != ref.UID:
		return VolumePlan{Step: VolumeRelease}
	case claim.Spec.VolumeName == "":
		if storagehelpers.CheckVolumeModeMismatches(&claim.Spec, &vol.Spec) {
			return VolumePlan{Step: VolumeMismatch,
				Event: &Event{corev1.EventTypeWarning, ReasonVolumeMismatch,
					fmt.Sprintf("Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name)},
				ClaimEvent: &Event{corev1.EventTypeWarning, ReasonVolumeMismatch,
					fmt.Sprintf("Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", vol.Name)}}
		}
		return VolumePlan{Step: VolumeSyncClaim}
	case claim.Spec.VolumeName == vol.Name:
		return phasePlan(vol, corev1.VolumeBound)
	case metav1.HasAnnotation(vol.ObjectMeta, storagehelpers.AnnDynamicallyProvisioned) &&
		vol.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
		// Provisioned for a claim that got bound elsewhere: not needed.
		return VolumePlan{Step: VolumeRelease}
	}
	return VolumePlan{Step: VolumeUnbind}
}

func phasePlan(vol *corev1.PersistentVolume, phase corev1.PersistentVolumePhase) VolumePlan {
	if vol.Status.Phase == phase {
		return VolumePlan{}
	}
	return VolumePlan{Step: VolumeSetPhase, Phase: phase}
}

// ReclaimStep is what a released volume's reclaim policy asks.
type ReclaimStep int

const (
	// ReclaimNothing: retained, or deleted by an external deleter.
	ReclaimNothing ReclaimStep = iota
	// ReclaimFail marks the volume Failed with Event (retried on resync).
	ReclaimFail
	// ReclaimDeleteHostPath removes Path, then the volume.
	ReclaimDeleteHostPath
)

// ReclaimPlan is the decision about a released volume.
type ReclaimPlan struct {
	Step  ReclaimStep
	Event *Event
	Path  string
}

// DecideReclaim carries out a released volume's reclaim policy as
// upstream's reclaimVolume does with the controller manager's in-tree
// plugins. kemudi has no recycler (upstream's recycler pods for hostPath
// and NFS), so Recycle fails as for a volume no recycler supports.
func DecideReclaim(vol *corev1.PersistentVolume) ReclaimPlan {
	if vol.Annotations[storagehelpers.AnnMigratedTo] != "" {
		return ReclaimPlan{}
	}
	fail := func(reason, msg string) ReclaimPlan {
		return ReclaimPlan{Step: ReclaimFail, Event: &Event{corev1.EventTypeWarning, reason, msg}}
	}
	switch vol.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return ReclaimPlan{}
	case corev1.PersistentVolumeReclaimRecycle:
		return fail(ReasonVolumeFailedRecycle, "No recycler plugin found for the volume!")
	case corev1.PersistentVolumeReclaimDelete:
		plugin, err := deleter(vol)
		switch {
		case err != nil:
			return fail(ReasonVolumeFailedDelete, err.Error())
		case plugin == "":
			return ReclaimPlan{}
		}
		if err := hostPathDeletable(vol.Spec.HostPath.Path); err != nil {
			return fail(ReasonVolumeFailedDelete, err.Error())
		}
		return ReclaimPlan{Step: ReclaimDeleteHostPath, Path: vol.Spec.HostPath.Path}
	}
	return fail(ReasonVolumeUnknownReclaimPolicy, "Volume has unrecognized PersistentVolumeReclaimPolicy")
}

// deleter is upstream's findDeletablePlugin: "" for an external deleter
// (the provisioner of an out-of-tree volume, CSI), the host-path plugin
// (the only in-tree deleter the controller manager has), or the error
// that marks the volume Failed.
func deleter(vol *corev1.PersistentVolume) (string, error) {
	if by := vol.Annotations[storagehelpers.AnnDynamicallyProvisioned]; by != "" {
		switch {
		case by == hostPathPlugin:
			if vol.Spec.HostPath == nil {
				return "", fmt.Errorf("spec.PersistentVolumeSource.HostPath is nil")
			}
			return by, nil
		case inTreePlugins.Has(by):
			return "", fmt.Errorf("no deletable volume plugin matched")
		case strings.HasPrefix(by, "kubernetes.io/"):
			return "", fmt.Errorf("no volume plugin matched name: %s", by)
		}
		return "", nil
	}
	s := vol.Spec.PersistentVolumeSource
	switch {
	case s.CSI != nil:
		return "", nil
	case s.HostPath != nil:
		return hostPathPlugin, nil
	case s.NFS != nil, s.FC != nil, s.ISCSI != nil:
		return "", fmt.Errorf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", vol.Name)
	}
	return "", fmt.Errorf("error getting deleter volume plugin for volume %q: no volume plugin matched", vol.Name)
}

// hostPathDeletable is upstream's host-path deleter's guard: it only
// removes paths that match /tmp/.+ (unanchored, as upstream's).
func hostPathDeletable(path string) error {
	i := strings.Index(path, "/tmp/")
	if i < 0 || len(path) <= i+len("/tmp/") {
		return fmt.Errorf("host_path deleter only supports /tmp/.+ but received provided %s", path)
	}
	return nil
}

// ClaimStatus is the claim with the status of phase (bound to vol, or
// nil) as upstream's updateClaimStatus writes it, and whether it
// changed. Capacity is set only as the claim becomes Bound: a
// difference later may be a resize in progress.
func ClaimStatus(claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, vol *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, bool, error) {
	c := claim.DeepCopy()
	dirty := false
	if c.Status.Phase != phase {
		c.Status.Phase, dirty = phase, true
	}
	if vol == nil {
		if c.Status.AccessModes != nil || c.Status.Capacity != nil || c.Status.CurrentVolumeAttributesClassName != nil {
			c.Status.AccessModes, c.Status.Capacity, c.Status.CurrentVolumeAttributesClassName = nil, nil, nil
			dirty = true
		}
		return c, dirty, nil
	}
	if !reflect.DeepEqual(c.Status.AccessModes, vol.Spec.AccessModes) {
		c.Status.AccessModes, dirty = vol.Spec.AccessModes, true
	}
	if claim.Status.Phase != phase {
		volCap, ok := vol.Spec.Capacity[corev1.ResourceStorage]
		if !ok {
			return nil, false, fmt.Errorf("PersistentVolume %q is without a storage capacity", vol.Name)
		}
		claimCap, ok := claim.Status.Capacity[corev1.ResourceStorage]
		if !ok || volCap.Cmp(claimCap) != 0 {
			c.Status.Capacity, dirty = vol.Spec.Capacity.DeepCopy(), true
		}
	}
	if claim.Status.Phase == corev1.ClaimPending && phase == corev1.ClaimBound &&
		!reflect.DeepEqual(claim.Status.CurrentVolumeAttributesClassName, vol.Spec.VolumeAttributesClassName) {
		c.Status.CurrentVolumeAttributesClassName, dirty = vol.Spec.VolumeAttributesClassName, true
	}
	return c, dirty, nil
}

// ClaimBoundTo is the claim bound to vol as upstream's bindClaimToVolume
// writes it, and whether it changed.
func ClaimBoundTo(claim *corev1.PersistentVolumeClaim, vol *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, bool) {
	c := claim.DeepCopy()
	dirty := false
	if c.Spec.VolumeName != vol.Name {
		c.Spec.VolumeName, dirty = vol.Name, true
		if !metav1.HasAnnotation(c.ObjectMeta, storagehelpers.AnnBoundByController) {
			metav1.SetMetaDataAnnotation(&c.ObjectMeta, storagehelpers.AnnBoundByController, "yes")
		}
	}
	if !metav1.HasAnnotation(c.ObjectMeta, storagehelpers.AnnBindCompleted) {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, storagehelpers.AnnBindCompleted, "yes")
		dirty = true
	}
	return c, dirty
}

// VolumeUnbound is upstream's unbindVolume: a binding the controller
// made goes; a user's pre-binding stays, without the claim's uid.
func VolumeUnbound(vol *corev1.PersistentVolume) *corev1.PersistentVolume {
	v := vol.DeepCopy()
	if metav1.HasAnnotation(vol.ObjectMeta, storagehelpers.AnnBoundByController) {
		v.Spec.ClaimRef = nil
		delete(v.Annotations, storagehelpers.AnnBoundByController)
		if len(v.Annotations) == 0 {
			v.Annotations = nil
		}
	} else {
		v.Spec.ClaimRef.UID = ""
	}
	return v
}

func volumeNamed(volumes []*corev1.PersistentVolume, name string) *corev1.PersistentVolume {
	for _, v := range volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func claimKey(c *corev1.PersistentVolumeClaim) string { return c.Namespace + "/" + c.Name }
