package flowcontrol

import "k8s.io/apimachinery/pkg/util/validation/field"

// ValidateConditionTypes checks the types of a status's conditions, in
// order, as upstream does for both kinds: each is set, none twice. p is
// the status's path.
func ValidateConditionTypes[T ~string](types []T, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[T]bool, len(types))
	for i, t := range types {
		cp := p.Child("conditions").Index(i)
		if seen[t] {
			errs = append(errs, field.Duplicate(cp.Child("type"), t))
		}
		seen[t] = true
		if t == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
	}
	return errs
}
