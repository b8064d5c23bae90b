package bootstrap

import rbacv1 "k8s.io/api/rbac/v1"

// NamespaceRoles returns the default roles of the kube-system and
// kube-public namespaces.
func NamespaceRoles() []rbacv1.Role {
	return []rbacv1.Role{
		role("kube-system", "extension-apiserver-authentication-reader",
			verbs("get", "list", "watch").groups(core).resources("configmaps").names("extension-apiserver-authentication").rule(),
		),
		role("kube-system", ControllerRolePrefix+"bootstrap-signer",
			verbs("get", "list", "watch").groups(core).resources("secrets").rule(),
		),
		role("kube-system", ControllerRolePrefix+"cloud-provider",
			verbs("create", "get", "list", "watch").groups(core).resources("configmaps").rule(),
		),
		role("kube-system", ControllerRolePrefix+"token-cleaner",
			verbs("get", "list", "watch", "delete").groups(core).resources("secrets").rule(),
			eventsRule(),
		),
		role("kube-system", "system::leader-locking-kube-controller-manager", leaderLockingRules()...),
		role("kube-system", "system::leader-locking-kube-scheduler", leaderLockingRules()...),
		role("kube-public", ControllerRolePrefix+"bootstrap-signer",
			verbs("get", "list", "watch").groups(core).resources("configmaps").rule(),
			verbs("update").groups(core).resources("configmaps").names("cluster-info").rule(),
			eventsRule(),
		),
	}
}

// NamespaceRoleBindings returns the default role bindings of the
// kube-system and kube-public namespaces.
func NamespaceRoleBindings() []rbacv1.RoleBinding {
	return []rbacv1.RoleBinding{
		roleBinding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			users(UserKubeControllerManager, UserKubeScheduler)),
		roleBinding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			users(UserKubeControllerManager), serviceAccounts("kube-system", "kube-controller-manager", "leader-election-controller")),
		roleBinding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			users(UserKubeScheduler), serviceAccounts("kube-system", "kube-scheduler")),
		roleBinding("kube-system", ControllerRolePrefix+"bootstrap-signer", ControllerRolePrefix+"bootstrap-signer",
			serviceAccounts("kube-system", "bootstrap-signer")),
		roleBinding("kube-system", ControllerRolePrefix+"cloud-provider", ControllerRolePrefix+"cloud-provider",
			serviceAccounts("kube-system", "cloud-provider")),
		roleBinding("kube-system", ControllerRolePrefix+"token-cleaner", ControllerRolePrefix+"token-cleaner",
			serviceAccounts("kube-system", "token-cleaner")),
		roleBinding("kube-public", ControllerRolePrefix+"bootstrap-signer", ControllerRolePrefix+"bootstrap-signer",
			serviceAccounts("kube-system", "bootstrap-signer")),
	}
}

func leaderLockingRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		verbs("get", "watch", "list", "create", "update").groups(coordGroup).resources("leases").rule(),
		verbs("get", "watch", "list", "create", "update").groups(coordGroup).resources("leasecandidates").rule(),
	}
}

func role(namespace, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	return rbacv1.Role{ObjectMeta: meta(name, namespace, nil), Rules: rules}
}

func roleBinding(namespace, name, roleName string, subjects ...[]rbacv1.Subject) rbacv1.RoleBinding {
	var all []rbacv1.Subject
	for _, s := range subjects {
		all = append(all, s...)
	}
	return rbacv1.RoleBinding{
		ObjectMeta: meta(name, namespace, nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: roleName},
		Subjects:   all,
	}
}
