package auth

import "slices"

// Well-known groups and users, as upstream names them.
const (
	// SystemMasters bypasses authorization (upstream's superuser group).
	SystemMasters = "system:masters"
	// Authenticated is the group of every authenticated user.
	Authenticated = "system:authenticated"
	// Unauthenticated is the group of an anonymous request.
	Unauthenticated = "system:unauthenticated"
	// Anonymous is the name of an anonymous request's user.
	Anonymous = "system:anonymous"
	// ServiceAccountPrefix starts a service account's user name.
	ServiceAccountPrefix = "system:serviceaccount:"
	// AllServiceAccounts is the group of every service account.
	AllServiceAccounts = "system:serviceaccounts"
)

// User is who made a request.
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra is what the authenticator knows beyond name and groups
	// (a service account token's pod, node and credential id).
	Extra map[string][]string
}

// InGroup reports whether u is a member of group.
func (u *User) InGroup(group string) bool {
	return u != nil && slices.Contains(u.Groups, group)
}

// ServiceAccountUser is the user name of a service account.
func ServiceAccountUser(namespace, name string) string {
	return ServiceAccountPrefix + namespace + ":" + name
}

// ServiceAccountGroups are the groups of a service account in namespace,
// authenticated included.
func ServiceAccountGroups(namespace string) []string {
	return []string{AllServiceAccounts, AllServiceAccounts + ":" + namespace, Authenticated}
}
