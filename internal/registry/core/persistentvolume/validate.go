package persistentvolume

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// mountOptionsAnnotation is the legacy way to pass mount options, allowed
// only for the sources that mount a filesystem from elsewhere.
const mountOptionsAnnotation = "volume.beta.kubernetes.io/mount-options"

// Validate checks a volume's spec: access modes, a storage capacity, a
// known reclaim policy, exactly one volume source (local ones pinned to
// nodes), class names and volume mode.
func Validate(pv *corev1.PersistentVolume) field.ErrorList {
	spec := &pv.Spec
	p := field.NewPath("spec")
	errs := ValidateAccessModes(spec.AccessModes, p.Child("accessModes"), "")

	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(p.Child("capacity"), ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(p.Child("capacity"), spec.Capacity, []string{string(corev1.ResourceStorage)}))
	}
	for _, name := range sortedNames(spec.Capacity) {
		q := spec.Capacity[name]
		cp := p.Child("capacity").Key(string(name))
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(cp, q.Value(), "must be a valid resource quantity"))
		}
		errs = append(errs, ValidatePositiveQuantity(q, cp)...)
	}

	if policy := spec.PersistentVolumeReclaimPolicy; policy != "" {
		switch policy {
		case corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain:
		default:
			errs = append(errs, field.NotSupported(p.Child("persistentVolumeReclaimPolicy"), policy,
				[]string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRecycle), string(corev1.PersistentVolumeReclaimRetain)}))
		}
	}

	hasNodeAffinity := false
	if spec.NodeAffinity != nil {
		hasNodeAffinity = true
		ap := p.Child("nodeAffinity")
		if spec.NodeAffinity.Required != nil {
			errs = append(errs, podspec.ValidateNodeSelector(spec.NodeAffinity.Required, ap.Child("required"))...)
		} else {
			errs = append(errs, field.Required(ap.Child("required"), "must specify required node constraints"))
		}
	}

	errs = append(errs, validateSource(pv, hasNodeAffinity, p)...)

	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, ValidateClassName(spec.StorageClassName, p.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, ValidateVolumeMode(*spec.VolumeMode, p.Child("volumeMode"))...)
	}
	if spec.VolumeAttributesClassName != nil {
		vp := p.Child("volumeAttributesClassName")
		if *spec.VolumeAttributesClassName == "" {
			errs = append(errs, field.Required(vp, "an empty string is disallowed"))
		} else {
			errs = append(errs, ValidateClassName(*spec.VolumeAttributesClassName, vp)...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(p.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return append(errs, validateMountOptions(pv)...)
}

// ValidateUpdate is Validate plus what may not change: the volume source
// (a CSI controllerExpandSecretRef may be added), the volume mode, node
// affinity once set (except beta topology labels moving to their GA
// names), and a volume attributes class once set.
func ValidateUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := Validate(pv)

	newSource := pv.Spec.PersistentVolumeSource
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && newSource.CSI != nil && newSource.CSI.ControllerExpandSecretRef != nil {
		csi := *newSource.CSI
		csi.ControllerExpandSecretRef = nil
		newSource.CSI = &csi
	}
	if !equality.Semantic.DeepEqual(newSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff.Diff(old.Spec.PersistentVolumeSource, newSource))))
	}
	// Upstream reports these two without the spec prefix.
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil && !sameNodeAffinity(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, apimachineryvalidation.FieldImmutableErrorMsg+", except for updating from beta label to GA"))
	}
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// betaToGA maps the deprecated topology labels to their GA names; a
// volume's node affinity may move from one to the other.
var betaToGA = map[string]string{
	corev1.LabelFailureDomainBetaZone:   corev1.LabelTopologyZone,
	corev1.LabelFailureDomainBetaRegion: corev1.LabelTopologyRegion,
	"beta.kubernetes.io/os":             corev1.LabelOSStable,
	"beta.kubernetes.io/arch":           corev1.LabelArchStable,
	corev1.LabelInstanceType:            corev1.LabelInstanceTypeStable,
}

func sameNodeAffinity(a, old *corev1.VolumeNodeAffinity) bool {
	if a == nil || old == nil || a.Required == nil || old.Required == nil {
		return equality.Semantic.DeepEqual(a, old)
	}
	masked := old.DeepCopy()
	terms, oldTerms := a.Required.NodeSelectorTerms, masked.Required.NodeSelectorTerms
	if len(terms) != len(oldTerms) {
		return false
	}
	for i := range oldTerms {
		exprs := oldTerms[i].MatchExpressions
		if len(exprs) != len(terms[i].MatchExpressions) {
			return false
		}
		for j := range exprs {
			if ga, ok := betaToGA[exprs[j].Key]; ok && terms[i].MatchExpressions[j].Key == ga {
				exprs[j].Key = ga
			}
		}
	}
	return equality.Semantic.DeepEqual(a, masked)
}

// ValidateAccessModes requires at least one known mode, and
// ReadWriteOncePod alone. requiredMsg is the detail of the Required error.
func ValidateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path, requiredMsg string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fldPath, requiredMsg))
	}
	rwop, others := false, false
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOncePod:
			rwop = true
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany:
			others = true
		default:
			errs = append(errs, field.NotSupported(fldPath, m, []string{
				string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOnce), string(corev1.ReadWriteOncePod)}))
		}
	}
	if rwop && others {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// ValidateVolumeMode requires Block or Filesystem.
func ValidateVolumeMode(m corev1.PersistentVolumeMode, fldPath *field.Path) field.ErrorList {
	if m != corev1.PersistentVolumeBlock && m != corev1.PersistentVolumeFilesystem {
		return field.ErrorList{field.NotSupported(fldPath, m, []string{string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem)})}
	}
	return nil
}

// ValidateClassName checks a storage or volume attributes class name, a
// DNS subdomain.
func ValidateClassName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// ValidatePositiveQuantity requires a quantity above zero.
func ValidatePositiveQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), "must be greater than zero")}
	}
	return nil
}

// validateMountOptions refuses the mount-options annotation on sources
// that take no mount options.
func validateMountOptions(pv *corev1.PersistentVolume) field.ErrorList {
	s := &pv.Spec.PersistentVolumeSource
	if s.GCEPersistentDisk != nil || s.AWSElasticBlockStore != nil || s.Glusterfs != nil || s.NFS != nil ||
		s.RBD != nil || s.Quobyte != nil || s.ISCSI != nil || s.Cinder != nil || s.CephFS != nil ||
		s.AzureFile != nil || s.VsphereVolume != nil || s.AzureDisk != nil || s.PhotonPersistentDisk != nil {
		return nil
	}
	if _, ok := pv.Annotations[mountOptionsAnnotation]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath("metadata", "annotations", mountOptionsAnnotation), "may not specify mount options for this volume type")}
	}
	return nil
}

// deprecatedAnnotations are legacy annotations upstream warns about.
var deprecatedAnnotations = []struct{ key, message string }{
	{corev1.BetaStorageClassAnnotation, `deprecated since v1.8; use "storageClassName" attribute instead`},
	{mountOptionsAnnotation, `deprecated since v1.31; use "mountOptions" attribute instead`},
}

// deprecatedNodeLabels are node labels with a better replacement; node
// affinity using them draws a warning.
var deprecatedNodeLabels = map[string]string{
	"beta.kubernetes.io/arch":                       `deprecated since v1.14; use "kubernetes.io/arch" instead`,
	"beta.kubernetes.io/os":                         `deprecated since v1.14; use "kubernetes.io/os" instead`,
	"failure-domain.beta.kubernetes.io/region":      `deprecated since v1.17; use "topology.kubernetes.io/region" instead`,
	"failure-domain.beta.kubernetes.io/zone":        `deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
	"beta.kubernetes.io/instance-type":              `deprecated since v1.17; use "node.kubernetes.io/instance-type" instead`,
	"app.kubernetes.io/created-by":                  `deprecated since v1.9`,
	"scheduler.alpha.kubernetes.io/preferAvoidPods": `deprecated since v1.22; use Taints and Tolerations instead`,
	"node-role.kubernetes.io/master":                `use "node-role.kubernetes.io/control-plane" instead`,
}

// Warnings flags what upstream flags on a volume: deprecated annotations,
// the Recycle policy, deprecated node labels in node affinity, and volume
// plugins that no longer work.
func Warnings(pv *corev1.PersistentVolume) []string {
	var warnings []string
	for _, d := range deprecatedAnnotations {
		if _, ok := pv.Annotations[d.key]; ok {
			warnings = append(warnings, fmt.Sprintf("%s: %s", field.NewPath("metadata", "annotations").Key(d.key), d.message))
		}
	}
	spec := &pv.Spec
	if spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		warnings = append(warnings, "spec.persistentVolumeReclaimPolicy: The Recycle reclaim policy is deprecated. Instead, the recommended approach is to use dynamic provisioning.")
	}
	if a := spec.NodeAffinity; a != nil && a.Required != nil {
		tp := field.NewPath("spec", "nodeAffinity", "required", "nodeSelectorTerms")
		for i, term := range a.Required.NodeSelectorTerms {
			for j, expr := range term.MatchExpressions {
				if msg, ok := deprecatedNodeLabels[expr.Key]; ok {
					warnings = append(warnings, fmt.Sprintf("%s: %s is %s", tp.Index(i).Child("matchExpressions").Index(j).Child("key"), expr.Key, msg))
				}
			}
		}
	}
	for _, d := range []struct {
		set     bool
		name    string
		message string
	}{
		{spec.CephFS != nil, "cephfs", "deprecated in v1.28, non-functional in v1.31+"},
		{spec.PhotonPersistentDisk != nil, "photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+"},
		{spec.ScaleIO != nil, "scaleIO", "deprecated in v1.16, non-functional in v1.22+"},
		{spec.StorageOS != nil, "storageOS", "deprecated in v1.22, non-functional in v1.25+"},
		{spec.Glusterfs != nil, "glusterfs", "deprecated in v1.25, non-functional in v1.26+"},
		{spec.RBD != nil, "rbd", "deprecated in v1.28, non-functional in v1.31+"},
	} {
		if d.set {
			warnings = append(warnings, fmt.Sprintf("spec.%s: %s", d.name, d.message))
		}
	}
	return warnings
}

func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	return sets.List(sets.KeySet(list))
}
