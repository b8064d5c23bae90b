package csinode

import (
	"fmt"

	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/persistentvolume"
)

// maxNodeIDLength bounds a driver's node ID, as upstream.
const maxNodeIDLength = 192

// Validate checks a CSI node as upstream: each driver's name, node ID,
// allocatable count and topology keys, and no driver twice.
func Validate(n *storagev1.CSINode) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "drivers")
	seen := sets.New[string]()
	for i, d := range n.Spec.Drivers {
		p := path.Index(i)
		errs = append(errs, persistentvolume.ValidateCSIDriverName(d.Name, p.Child("name"))...)
		switch {
		case d.NodeID == "":
			errs = append(errs, field.Required(p.Child("nodeID"), "nodeID of a CSI driver is required"))
		case len(d.NodeID) > maxNodeIDLength:
			errs = append(errs, field.Invalid(p.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", maxNodeIDLength)))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*d.Allocatable.Count), p.Child("allocatable", "count"))...)
		}
		if seen.Has(d.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		seen.Insert(d.Name)
		keys := sets.New[string]()
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(p, k))
			}
			if keys.Has(k) {
				errs = append(errs, field.Duplicate(p, k))
			}
			keys.Insert(k)
			errs = append(errs, metav1validation.ValidateLabelName(k, p)...)
		}
	}
	return errs
}

// ValidateUpdate: a driver that stays keeps its node ID and topology keys.
func ValidateUpdate(n, old *storagev1.CSINode) field.ErrorList {
	errs := Validate(n)
	before := map[string]storagev1.CSINodeDriver{}
	for _, d := range old.Spec.Drivers {
		before[d.Name] = d
	}
	for i, d := range n.Spec.Drivers {
		o, ok := before[d.Name]
		if !ok {
			continue
		}
		p := field.NewPath("spec", "drivers").Index(i)
		errs = append(errs, apivalidation.ValidateImmutableField(d.NodeID, o.NodeID, p.Child("nodeID"))...)
		errs = append(errs, apivalidation.ValidateImmutableField(d.TopologyKeys, o.TopologyKeys, p.Child("topologyKeys"))...)
	}
	return errs
}
