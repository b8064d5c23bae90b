// Package rbac is the RBAC authorizer: Roles, ClusterRoles, RoleBindings
// and ClusterRoleBindings decide what users, groups and service accounts
// may do, as upstream's rbac.authorization.k8s.io/v1 defines. It also
// holds the checks that keep RBAC from being a way up (escalation
// prevention) and the rule listing of SelfSubjectRulesReview.
package rbac
