package localpath

import (
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// Event reasons: upstream external-provisioner's, external-resizer's
// and the kubelet's.
const (
	ReasonProvisioning               = "Provisioning"
	ReasonProvisioningSucceeded      = "ProvisioningSucceeded"
	ReasonProvisioningFailed         = "ProvisioningFailed"
	ReasonVolumeFailedDelete         = "VolumeFailedDelete"
	ReasonResizing                   = "Resizing"
	ReasonFileSystemResizeSuccessful = "FileSystemResizeSuccessful"
	ReasonVolumeResizeFailed         = "VolumeResizeFailed"
)

// HostnameLabel is the node label a volume's node affinity names, as
// local-path-provisioner's.
const HostnameLabel = corev1.LabelHostname

// ProvisionStep is what a claim's sync does about provisioning.
type ProvisionStep int

const (
	// ProvisionSkip: not this node's claim (or not a claim to provision).
	ProvisionSkip ProvisionStep = iota
	// Provision makes the claim's directory and volume.
	Provision
	// ProvisionRefuse: the claim asks what local-path cannot give;
	// Message says what (a ProvisioningFailed event).
	ProvisionRefuse
)

// ProvisionPlan is the decision about one unbound claim.
type ProvisionPlan struct {
	Step    ProvisionStep
	Message string
}

// DecideProvision is external-provisioner's shouldProvision for a node
// deployment: an unbound claim handed to kemudi.io/local-path (its
// storage-provisioner annotation), of a class of that provisioner, that
// the scheduler placed on node. Block volumes and data sources are
// refused: a directory is neither.
func DecideProvision(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, node string) ProvisionPlan {
	switch {
	case claim.Spec.VolumeName != "", claim.DeletionTimestamp != nil:
		return ProvisionPlan{}
	case claimProvisioner(claim) != Provisioner:
		return ProvisionPlan{}
	case class == nil || class.Provisioner != Provisioner:
		// The persistentvolume-binder reports a missing class.
		return ProvisionPlan{}
	case claim.Annotations[storagehelpers.AnnSelectedNode] != node:
		return ProvisionPlan{}
	}
	if m := claim.Spec.VolumeMode; m != nil && *m == corev1.PersistentVolumeBlock {
		return ProvisionPlan{Step: ProvisionRefuse, Message: fmt.Sprintf("%s does not support block volume provisioning", Provisioner)}
	}
	if src := dataSource(claim); src != "" {
		return ProvisionPlan{Step: ProvisionRefuse, Message: failedWith(class.Name,
			fmt.Sprintf("data source %s is not supported: %s makes empty directories", src, Provisioner))}
	}
	return ProvisionPlan{Step: Provision}
}

// claimProvisioner is the provisioner the persistentvolume-binder
// handed the claim to (the GA annotation, else the beta one).
func claimProvisioner(claim *corev1.PersistentVolumeClaim) string {
	if p := claim.Annotations[storagehelpers.AnnStorageProvisioner]; p != "" {
		return p
	}
	return claim.Annotations[storagehelpers.AnnBetaStorageProvisioner]
}

// dataSource names the claim's data source ("" for none).
func dataSource(claim *corev1.PersistentVolumeClaim) string {
	name := func(kind, n string) string { return fmt.Sprintf("%s %q", kind, n) }
	if r := claim.Spec.DataSourceRef; r != nil {
		return name(r.Kind, r.Name)
	}
	if r := claim.Spec.DataSource; r != nil {
		return name(r.Kind, r.Name)
	}
	return ""
}

// failedWith is external-provisioner's ProvisioningFailed message.
func failedWith(class, why string) string {
	return fmt.Sprintf("failed to provision volume with StorageClass %q: %s", class, why)
}

// VolumeName is the claim's volume: upstream's pvc-<claim uid>.
func VolumeName(claim *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// VolumePath is the claim's directory under dir, named as
// local-path-provisioner names it: <volume>_<namespace>_<claim>.
func VolumePath(dir string, claim *corev1.PersistentVolumeClaim) string {
	return filepath.Join(dir, fmt.Sprintf("%s_%s_%s", VolumeName(claim), claim.Namespace, claim.Name))
}

// claimRequest is the storage the claim asks for.
func claimRequest(claim *corev1.PersistentVolumeClaim) resource.Quantity {
	return claim.Spec.Resources.Requests[corev1.ResourceStorage]
}

// CheckFree refuses a request larger than the free space of the
// storage filesystem, naming both figures.
func CheckFree(request resource.Quantity, free uint64, node, dir string) error {
	if request.CmpInt64(int64(min(free, 1<<62))) <= 0 {
		return nil
	}
	return fmt.Errorf("the claim asks %s, node %s has %s free in %s", request.String(), node, humanBytes(free), dir)
}

// humanBytes writes n in the largest binary unit with one decimal
// (what df -h shows), exact bytes below 1Ki.
func humanBytes(n uint64) string {
	units := []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	if n < 1024 {
		return fmt.Sprintf("%d", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}

// VolumeFor is the volume made for claim of class on the node whose
// hostname label is hostname, at path: a local volume only that node
// mounts, of the claim's size, access modes and mode, with the class's
// reclaim policy and mount options, reserved for the claim.
func VolumeFor(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, hostname, path string) *corev1.PersistentVolume {
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	mode := corev1.PersistentVolumeFilesystem
	if claim.Spec.VolumeMode != nil {
		mode = *claim.Spec.VolumeMode
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        VolumeName(claim),
			Annotations: map[string]string{storagehelpers.AnnDynamicallyProvisioned: Provisioner},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: claimRequest(claim)},
			AccessModes: append([]corev1.PersistentVolumeAccessMode(nil), claim.Spec.AccessModes...),
			VolumeMode:  &mode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
			},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  append([]string(nil), class.MountOptions...),
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				Local: &corev1.LocalVolumeSource{Path: path},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: HostnameLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname},
				}}}},
			}},
		},
	}
}

// Hostname is the node's hostname label, its name when it has none
// (as local-path-provisioner).
func Hostname(node *corev1.Node) string {
	if h := node.Labels[HostnameLabel]; h != "" {
		return h
	}
	return node.Name
}

// volumeHostname is the one hostname a volume's node affinity requires
// ("" when it names none, or several).
func volumeHostname(pv *corev1.PersistentVolume) string {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil {
		return ""
	}
	found := ""
	for _, term := range a.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key != HostnameLabel || e.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			for _, v := range e.Values {
				if found != "" && found != v {
					return ""
				}
				found = v
			}
		}
	}
	return found
}

// ours says whether pv is a local-path volume of the node with hostname.
func ours(pv *corev1.PersistentVolume, hostname string) bool {
	return pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] == Provisioner && volumeHostname(pv) == hostname
}

// DeleteStep is what a volume's sync does.
type DeleteStep int

const (
	// DeleteKeep: nothing to do (not ours, in use, Retain, or going).
	DeleteKeep DeleteStep = iota
	// Delete removes the directory, then the volume.
	Delete
	// DeleteRefuse: a released volume of ours whose path this node must
	// not remove; Message says why (a VolumeFailedDelete event).
	DeleteRefuse
)

// DeletePlan is the decision about one volume.
type DeletePlan struct {
	Step    DeleteStep
	Path    string
	Message string
}

// DecideDelete is external-provisioner's shouldDelete for a node
// deployment: a volume kemudi.io/local-path made on this node (its
// hostname), Released, reclaim policy Delete, not being deleted. Its
// directory must be a directory directly under dir: nothing else on the
// node is ever removed.
func DecideDelete(pv *corev1.PersistentVolume, hostname, dir string) DeletePlan {
	if !ours(pv, hostname) || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return DeletePlan{}
	}
	if pv.Spec.Local == nil {
		return DeletePlan{Step: DeleteRefuse, Message: fmt.Sprintf("%s deletes local volumes only; %s is not one", Provisioner, pv.Name)}
	}
	path := pv.Spec.Local.Path
	if !under(dir, path) {
		return DeletePlan{Step: DeleteRefuse, Path: path, Message: fmt.Sprintf(
			"refusing to delete %s: the path is not a volume directory of this node's storage directory %s", path, dir)}
	}
	return DeletePlan{Step: Delete, Path: path}
}

// under says whether path names an entry directly in dir (not dir
// itself, nothing deeper, no way out through "..").
func under(dir, path string) bool {
	if !filepath.IsAbs(path) || !filepath.IsAbs(dir) {
		return false
	}
	clean := filepath.Clean(path)
	base := filepath.Base(clean)
	return filepath.Dir(clean) == filepath.Clean(dir) && base != "." && base != ".." && base != string(filepath.Separator)
}

// ExpandStep is what a bound claim's sync does about its size.
type ExpandStep int

const (
	// ExpandNone: nothing to grow.
	ExpandNone ExpandStep = iota
	// ExpandVolume grows the volume to Size (after a free-space check),
	// then records it on the claim.
	ExpandVolume
	// ExpandRecord records Size on the claim: the volume already has it.
	ExpandRecord
)

// ExpandPlan is the decision about one bound claim.
type ExpandPlan struct {
	Step ExpandStep
	Size resource.Quantity
	// Grow is how much more the volume takes.
	Grow resource.Quantity
}

// DecideExpand is external-resizer's (and the kubelet's, for a
// directory that needs no node step) decision: a claim bound to a
// volume of this node, of a class that allows expansion, asking more
// than its status holds.
func DecideExpand(claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, class *storagev1.StorageClass, hostname string) ExpandPlan {
	if pv == nil || class == nil || claim.Spec.VolumeName != pv.Name || claim.Status.Phase != corev1.ClaimBound ||
		!ours(pv, hostname) || class.AllowVolumeExpansion == nil || !*class.AllowVolumeExpansion {
		return ExpandPlan{}
	}
	want := claimRequest(claim)
	have := claim.Status.Capacity[corev1.ResourceStorage]
	if want.Cmp(have) <= 0 {
		return ExpandPlan{}
	}
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	if want.Cmp(size) <= 0 {
		return ExpandPlan{Step: ExpandRecord, Size: size}
	}
	grow := want.DeepCopy()
	grow.Sub(size)
	return ExpandPlan{Step: ExpandVolume, Size: want, Grow: grow}
}
