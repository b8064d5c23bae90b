package csidriver

import (
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Upstream's bounds on a token's lifetime and on the update period.
const (
	minTokenExpiration         = int64(10 * time.Minute / time.Second)
	maxTokenExpiration         = int64(1) << 32
	minAllocatableUpdatePeriod = 10
	warningTokenInSecretsUnset = "spec.serviceAccountTokenInSecrets is unset; if supported by this CSI driver, set to true to prevent possible logging of tokens in volume attributes"
)

var (
	fsGroupPolicies = sets.New(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy, storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy)
	lifecycleModes  = []string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}
)

// Validate checks a driver's spec as upstream does (the name is a
// DNS-1123 subdomain, checked by the generic code). Defaulting has run,
// so a missing boolean is the client's explicit null.
func Validate(d *storagev1.CSIDriver) field.ErrorList {
	s, p := &d.Spec, field.NewPath("spec")
	var errs field.ErrorList
	// Upstream names attachRequired's path "attachedRequired"; kept so
	// that clients matching on the field see the same.
	errs = append(errs, required(s.AttachRequired, p.Child("attachedRequired"))...)
	errs = append(errs, required(s.PodInfoOnMount, p.Child("podInfoOnMount"))...)
	errs = append(errs, required(s.StorageCapacity, p.Child("storageCapacity"))...)
	if s.FSGroupPolicy != nil && !fsGroupPolicies.Has(*s.FSGroupPolicy) {
		errs = append(errs, field.NotSupported(p.Child("fsGroupPolicy"), *s.FSGroupPolicy, sets.List(fsGroupPolicies)))
	}
	errs = append(errs, validateTokenRequests(s.TokenRequests, p.Child("tokenRequests"))...)
	for _, m := range s.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecyclePersistent && m != storagev1.VolumeLifecycleEphemeral {
			errs = append(errs, field.NotSupported(p.Child("volumeLifecycleModes"), m, lifecycleModes))
		}
	}
	errs = append(errs, required(s.SELinuxMount, p.Child("seLinuxMount"))...)
	if v := s.NodeAllocatableUpdatePeriodSeconds; v != nil && *v < minAllocatableUpdatePeriod {
		errs = append(errs, field.Invalid(p.Child("nodeAllocatableUpdatePeriodSeconds"), *v, "must be greater than or equal to 10 seconds"))
	}
	if v := s.ServiceAccountTokenInSecrets; v != nil && len(s.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(p.Child("serviceAccountTokenInSecrets"), *v, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	errs = append(errs, required(s.PreventPodSchedulingIfMissing, p.Child("preventPodSchedulingIfMissing"))...)
	return errs
}

// ValidateUpdate checks an update: whether volumes are attached and
// which lifecycle modes the driver serves never change (podInfoOnMount
// and storageCapacity may, as upstream allows since 1.30).
func ValidateUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	errs := Validate(d)
	p := field.NewPath("spec")
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.AttachRequired, old.Spec.AttachRequired, p.Child("attachedRequired"))...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, p.Child("volumeLifecycleModes"))...)
}

// Warnings recommends serviceAccountTokenInSecrets when a driver asks
// for tokens (on update, only when the token requests change).
func Warnings(d, old *storagev1.CSIDriver) []string {
	if len(d.Spec.TokenRequests) == 0 || d.Spec.ServiceAccountTokenInSecrets != nil {
		return nil
	}
	if old != nil && equalTokenRequests(d.Spec.TokenRequests, old.Spec.TokenRequests) {
		return nil
	}
	return []string{warningTokenInSecretsUnset}
}

func equalTokenRequests(a, b []storagev1.TokenRequest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Audience != b[i].Audience || !ptr.Equal(a[i].ExpirationSeconds, b[i].ExpirationSeconds) {
			return false
		}
	}
	return true
}

func required(v *bool, p *field.Path) field.ErrorList {
	if v == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	return nil
}

// validateTokenRequests: audiences are unique (at most one empty) and
// each lifetime lies between 10 minutes and 2^32 seconds.
func validateTokenRequests(reqs []storagev1.TokenRequest, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, r := range reqs {
		rp := p.Index(i)
		if seen[r.Audience] {
			errs = append(errs, field.Duplicate(rp.Child("audience"), r.Audience))
			continue
		}
		seen[r.Audience] = true
		if r.ExpirationSeconds == nil {
			continue
		}
		if *r.ExpirationSeconds < minTokenExpiration {
			errs = append(errs, field.Invalid(rp.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *r.ExpirationSeconds > maxTokenExpiration {
			errs = append(errs, field.Invalid(rp.Child("expirationSeconds"), *r.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	return errs
}
