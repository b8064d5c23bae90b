package volumeattachment

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolume"
)

// Upstream's bounds on what a driver reports.
const (
	maxAttachmentMetadataSize = 256 * (1 << 10)
	maxErrorMessageSize       = 1024
)

// Validate checks an attachment as upstream: a CSI driver as attacher,
// exactly one source (a volume's name, or an inline CSI volume), a node
// name, and a status within bounds.
func Validate(va *storagev1.VolumeAttachment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := persistentvolume.ValidateCSIDriverName(va.Spec.Attacher, spec.Child("attacher"))
	errs = append(errs, validateSource(&va.Spec.Source, spec.Child("source"))...)
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(va.Spec.NodeName, false) {
		errs = append(errs, field.Invalid(spec.Child("nodeName"), va.Spec.NodeName, msg))
	}
	status := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachmentMetadataSize {
		errs = append(errs, field.TooLong(status.Child("attachmentMetadata"), "", maxAttachmentMetadataSize))
	}
	errs = append(errs, validateError(va.Status.AttachError, status.Child("attachError"))...)
	errs = append(errs, validateError(va.Status.DetachError, status.Child("detachError"))...)
	return errs
}

// ValidateUpdate checks an update: the spec never changes.
func ValidateUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	errs := Validate(va)
	return append(errs, apimachineryvalidation.ValidateImmutableField(va.Spec, old.Spec, field.NewPath("spec"))...)
}

func validateSource(s *storagev1.VolumeAttachmentSource, p *field.Path) field.ErrorList {
	switch {
	case s.InlineVolumeSpec == nil && s.PersistentVolumeName == nil:
		return field.ErrorList{field.Required(p, "must specify exactly one of inlineVolumeSpec and persistentVolumeName")}
	case s.InlineVolumeSpec != nil && s.PersistentVolumeName != nil:
		return field.ErrorList{field.Forbidden(p, "must specify exactly one of inlineVolumeSpec and persistentVolumeName")}
	case s.PersistentVolumeName != nil:
		name := *s.PersistentVolumeName
		if name == "" {
			return field.ErrorList{field.Required(p.Child("persistentVolumeName"), "must specify non empty persistentVolumeName")}
		}
		var errs field.ErrorList
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
			errs = append(errs, field.Invalid(p.Child("persistentVolumeName"), name, msg))
		}
		return errs
	}
	return validateInline(s.InlineVolumeSpec, p.Child("inlineVolumeSpec"))
}

// validateInline checks an inline volume: a CSI volume with access modes
// and nothing that belongs to a stored volume (claim, capacity, class,
// node affinity, a reclaim policy but Retain, a block mode).
func validateInline(spec *corev1.PersistentVolumeSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.ClaimRef != nil {
		errs = append(errs, field.Forbidden(p.Child("claimRef"), "may not be specified in the context of inline volumes"))
	}
	if len(spec.Capacity) != 0 {
		errs = append(errs, field.Forbidden(p.Child("capacity"), "may not be specified in the context of inline volumes"))
	}
	if spec.CSI == nil {
		errs = append(errs, field.Required(p.Child("csi"), "has to be specified in the context of inline volumes"))
	}
	errs = append(errs, persistentvolume.ValidateAccessModes(spec.AccessModes, p.Child("accessModes"), "")...)
	if r := spec.PersistentVolumeReclaimPolicy; r != "" && r != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may only be "+string(corev1.PersistentVolumeReclaimRetain)+" in the context of inline volumes"))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, field.Forbidden(p.Child("nodeAffinity"), "may not be specified in the context of inline volumes"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, field.Forbidden(p.Child("storageClassName"), "may not be specified in the context of inline volumes"))
	}
	if spec.VolumeMode != nil && *spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.Forbidden(p.Child("volumeMode"), "may not specify volumeMode other than "+string(corev1.PersistentVolumeFilesystem)+" in the context of inline volumes"))
	}
	if spec.CSI != nil {
		cp := p.Child("csi")
		errs = append(errs, persistentvolume.ValidateCSIDriverName(spec.CSI.Driver, cp.Child("driver"))...)
		if spec.CSI.VolumeHandle == "" {
			errs = append(errs, field.Required(cp.Child("volumeHandle"), ""))
		}
	}
	return errs
}

func validateError(e *storagev1.VolumeError, p *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxErrorMessageSize {
		errs = append(errs, field.TooLong(p.Child("message"), "", maxErrorMessageSize))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		errs = append(errs, field.Invalid(p.Child("errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
	}
	return errs
}
