package workload

import "k8s.io/apimachinery/pkg/util/validation/field"

// CollisionCountNotDecremented rejects a status.collisionCount that went
// down or was cleared: controllers use it to name revisions uniquely.
func CollisionCountNotDecremented(count, old *int32, fldPath *field.Path) field.ErrorList {
	if old == nil {
		return nil
	}
	if count == nil {
		return field.ErrorList{field.Invalid(fldPath, int32(0), "cannot be decremented")}
	}
	if *count < *old {
		return field.ErrorList{field.Invalid(fldPath, *count, "cannot be decremented")}
	}
	return nil
}
