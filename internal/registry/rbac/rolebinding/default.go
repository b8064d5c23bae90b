package rolebinding

import rbacv1 "k8s.io/api/rbac/v1"

// Default fills the roleRef's API group and each subject's.
func Default(rb *rbacv1.RoleBinding) {
	DefaultRoleRef(&rb.RoleRef)
	DefaultSubjects(rb.Subjects)
}

// DefaultRoleRef sets an empty roleRef.apiGroup to the RBAC group, the
// only one a binding may refer to.
func DefaultRoleRef(ref *rbacv1.RoleRef) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
}

// DefaultSubjects sets an empty apiGroup of User and Group subjects to
// the RBAC group; service accounts stay in the core group ("").
func DefaultSubjects(subjects []rbacv1.Subject) {
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup != "" {
			continue
		}
		switch s.Kind {
		case rbacv1.UserKind, rbacv1.GroupKind:
			s.APIGroup = rbacv1.GroupName
		}
	}
}
