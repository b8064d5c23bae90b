package csistoragecapacity

import (
	"fmt"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolume"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a capacity as upstream: nodeTopology a valid label
// selector (values that are not label values only when the stored
// object already had such), storageClassName a class name, and capacity
// not negative. Upstream does not check maximumVolumeSize.
func Validate(c *storagev1.CSIStorageCapacity, allowInvalidLabelValues bool) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValues}
	errs := metav1validation.ValidateLabelSelector(c.NodeTopology, opts, field.NewPath("nodeTopology"))
	errs = append(errs, persistentvolume.ValidateClassName(c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil && c.Capacity.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), apimachineryvalidation.IsNegativeErrorMsg))
	}
	return errs
}

// ValidateUpdate: what the driver was asked about (the topology and the
// class) is immutable; the figures change.
func ValidateUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	invalidBefore := len(metav1validation.ValidateLabelSelector(old.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	errs := Validate(c, invalidBefore)
	if !equality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, "field is immutable"))
	}
	if c.StorageClassName != old.StorageClassName {
		errs = append(errs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, "field is immutable"))
	}
	return errs
}

// Warnings are upstream's: deprecated node labels in nodeTopology.
func Warnings(c *storagev1.CSIStorageCapacity) []string {
	sel := c.NodeTopology
	if sel == nil {
		return nil
	}
	p := field.NewPath("nodeTopology")
	var w []string
	for i, e := range sel.MatchExpressions {
		if msg, ok := podspec.DeprecatedNodeLabel(e.Key); ok {
			w = append(w, fmt.Sprintf("%s: %s is %s", p.Child("matchExpressions").Index(i).Child("key"), e.Key, msg))
		}
	}
	for _, k := range sets.List(sets.KeySet(sel.MatchLabels)) {
		if msg, ok := podspec.DeprecatedNodeLabel(k); ok {
			w = append(w, fmt.Sprintf("%s: %s", p.Child("matchLabels").Child(k), msg))
		}
	}
	return w
}
