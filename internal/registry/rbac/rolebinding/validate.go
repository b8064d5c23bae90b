package rolebinding

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/rbac/role"
)

// Validate checks a role binding: what it refers to and whom it binds.
func Validate(rb *rbacv1.RoleBinding) field.ErrorList {
	errs := ValidateRoleRef(rb.RoleRef, []string{"Role", "ClusterRole"})
	for i, s := range rb.Subjects {
		errs = append(errs, ValidateSubject(s, true, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// ValidateUpdate checks an update: a binding cannot be pointed at another
// role (delete and recreate it instead), as upstream.
func ValidateUpdate(rb, old *rbacv1.RoleBinding) field.ErrorList {
	errs := Validate(rb)
	return append(errs, apivalidation.ValidateImmutableField(rb.RoleRef, old.RoleRef, field.NewPath("roleRef"))...)
}

// ValidateRoleRef checks roleRef: the RBAC group, one of kinds, and a
// name that is a valid RBAC name.
func ValidateRoleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(path.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	if !contains(kinds, ref.Kind) {
		errs = append(errs, field.NotSupported(path.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else {
		for _, msg := range role.ValidateName(ref.Name, false) {
			errs = append(errs, field.Invalid(path.Child("name"), ref.Name, msg))
		}
	}
	return errs
}

// ValidateSubject checks one subject at fldPath. Users and groups belong
// to the RBAC API group; service accounts to the core group, and a
// cluster-wide binding (namespaced false) must say which namespace the
// service account lives in.
func ValidateSubject(s rbacv1.Subject, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(s.Name, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(fldPath.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
