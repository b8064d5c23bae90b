package storageclass

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits on parameters, as upstream: at most 512 of them, 256 KiB in all.
const (
	maxParameters     = 512
	maxParametersSize = 256 * 1024
)

// Validate checks a storage class.
func Validate(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateProvisioner(sc.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, validateParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && *p != corev1.PersistentVolumeReclaimDelete && *p != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p,
			[]string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}))
	}
	switch m := sc.VolumeBindingMode; {
	case m == nil:
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	case *m != storagev1.VolumeBindingImmediate && *m != storagev1.VolumeBindingWaitForFirstConsumer:
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *m,
			[]string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}))
	}
	errs = append(errs, validateAllowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
	return errs
}

// ValidateUpdate checks an update: what provisions volumes, and how,
// cannot change once claims may have used the class.
func ValidateUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := Validate(sc)
	errs = append(errs, apivalidation.ValidateImmutableField(sc.Parameters, old.Parameters, field.NewPath("parameters"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(sc.Provisioner, old.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(sc.ReclaimPolicy, old.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
	return errs
}

// validateProvisioner: a provisioner is named like a qualified name
// (example.com/nfs), case aside.
func validateProvisioner(p string, path *field.Path) field.ErrorList {
	if p == "" {
		return field.ErrorList{field.Required(path, p)}
	}
	var errs field.ErrorList
	lower := strings.ToLower(p)
	for _, msg := range validation.IsQualifiedName(lower) {
		errs = append(errs, field.Invalid(path, lower, msg))
	}
	return errs
}

func validateParameters(params map[string]string, path *field.Path) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(path, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(path, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParametersSize {
		errs = append(errs, field.TooLong(path, "", maxParametersSize))
	}
	return errs
}

// validateAllowedTopologies checks each term's label requirements, and
// that no two terms are the same. Like upstream, the comparison starts
// from one empty term per term, so a term without expressions is always
// reported as a duplicate.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make([]map[string]map[string]bool, len(terms))
	for i, term := range terms {
		exprs := map[string]map[string]bool{}
		for j, req := range term.MatchLabelExpressions {
			reqPath := path.Index(i).Child("matchLabelExpressions").Index(j)
			values := map[string]bool{}
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(reqPath.Child("values"), ""))
			}
			for k, v := range req.Values {
				if values[v] {
					errs = append(errs, field.Duplicate(reqPath.Child("values").Index(k), v))
				}
				values[v] = true
			}
			errs = append(errs, metav1validation.ValidateLabelName(req.Key, reqPath.Child("key"))...)
			if _, dup := exprs[req.Key]; dup {
				errs = append(errs, field.Duplicate(reqPath.Child("key"), req.Key))
			}
			exprs[req.Key] = values
		}
		for _, other := range seen {
			if sameTerm(exprs, other) {
				errs = append(errs, field.Duplicate(path.Index(i).Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// sameTerm compares two terms' expressions, key by key, value set by
// value set.
func sameTerm(a, b map[string]map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for v := range av {
			if !bv[v] {
				return false
			}
		}
	}
	return true
}

// deprecatedNodeLabels are node labels with a replacement; a class that
// restricts topology by one gets a warning, as upstream.
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

// Warnings flags deprecated node labels in allowedTopologies.
func Warnings(sc *storagev1.StorageClass) []string {
	var out []string
	for i, term := range sc.AllowedTopologies {
		for j, req := range term.MatchLabelExpressions {
			if msg, ok := deprecatedNodeLabels[req.Key]; ok {
				p := field.NewPath("allowedTopologies").Index(i).Child("matchLabelExpressions").Index(j).Child("key")
				out = append(out, fmt.Sprintf("%s: %s", p, msg))
			}
		}
	}
	return out
}
