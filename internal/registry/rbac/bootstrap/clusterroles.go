package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Well-known users and groups the default bindings name.
const (
	GroupMasters         = "system:masters"
	GroupMonitoring      = "system:monitoring"
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	GroupServiceAccounts = "system:serviceaccounts"
	GroupNodes           = "system:nodes"

	UserKubeProxy             = "system:kube-proxy"
	UserKubeControllerManager = "system:kube-controller-manager"
	UserKubeScheduler         = "system:kube-scheduler"
)

// Labels by which admin, edit and view aggregate their rules.
const (
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// ClusterRoles returns the default cluster roles, freshly built.
func ClusterRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		// Anything, anywhere.
		clusterRole("cluster-admin",
			verbs("*").groups("*").resources("*").rule(),
			verbs("*").urls("*").rule(),
		),

		// The user-facing roles, filled by aggregation.
		aggregated("admin", nil, AggregateToAdmin),
		aggregated("edit", map[string]string{AggregateToAdmin: "true"}, AggregateToEdit),
		aggregated("view", map[string]string{AggregateToEdit: "true"}, AggregateToView),
		{
			ObjectMeta: meta("system:aggregate-to-admin", "", map[string]string{AggregateToAdmin: "true"}),
			Rules: []rbacv1.PolicyRule{
				verbs("create").groups(authzGroup).resources("localsubjectaccessreviews").rule(),
				verbs(readWrite...).groups(rbacGroup).resources("roles", "rolebindings").rule(),
			},
		},
		{
			ObjectMeta: meta("system:aggregate-to-edit", "", map[string]string{AggregateToEdit: "true"}),
			Rules:      editRules(),
		},
		{
			ObjectMeta: meta("system:aggregate-to-view", "", map[string]string{AggregateToView: "true"}),
			Rules:      viewRules(),
		},

		// What every client may do.
		clusterRole("system:discovery",
			verbs("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/",
				"/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*").rule(),
		),
		clusterRole("system:basic-user",
			verbs("create").groups(authzGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews").rule(),
			verbs("create").groups(authnGroup).resources("selfsubjectreviews").rule(),
		),
		clusterRole("system:public-info-viewer",
			verbs("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/").rule(),
		),
		clusterRole("system:monitoring",
			verbs("get").urls("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
				"/livez/*", "/readyz/*", "/healthz/*", "/flagz", "/statusz").rule(),
			verbs("get").groups(core).resources("nodes/metrics").rule(),
		),
		clusterRole("system:service-account-issuer-discovery",
			verbs("get").urls("/.well-known/openid-configuration", "/.well-known/openid-configuration/",
				"/openid/v1/jwks", "/openid/v1/jwks/").rule(),
		),
		clusterRole("system:cluster-trust-bundle-discovery",
			verbs(read...).groups(certsGroup).resources("clustertrustbundles").rule(),
		),

		// Control-plane and node components.
		clusterRole("system:node", nodeRules()...),
		clusterRole("system:node-proxier",
			verbs("list", "watch").groups(core).resources("services", "endpoints").rule(),
			verbs("get", "list", "watch").groups(core).resources("nodes").rule(),
			eventsRule(),
			verbs("list", "watch").groups(networkingGroup).resources("servicecidrs").rule(),
			verbs("list", "watch").groups(discoveryGroup).resources("endpointslices").rule(),
		),
		clusterRole("system:kube-scheduler", schedulerRules()...),
		clusterRole("system:volume-scheduler",
			verbs(readUpdate...).groups(core).resources("persistentvolumes").rule(),
			verbs(read...).groups(storageGroup).resources("storageclasses").rule(),
			verbs(readUpdate...).groups(core).resources("persistentvolumeclaims").rule(),
		),
		clusterRole("system:kube-controller-manager",
			eventsRule(),
			verbs("create").groups(coordGroup).resources("leases").rule(),
			verbs("get", "update").groups(coordGroup).resources("leases").names("kube-controller-manager").rule(),
			verbs("create").groups(core).resources("secrets", "serviceaccounts").rule(),
			verbs("delete").groups(core).resources("secrets").rule(),
			verbs("get").groups(core).resources("namespaces", "secrets", "serviceaccounts", "configmaps").rule(),
			verbs("update").groups(core).resources("secrets", "serviceaccounts").rule(),
			verbs("create").groups(authnGroup).resources("tokenreviews").rule(),
			verbs("create").groups(authzGroup).resources("subjectaccessreviews").rule(),
			// Every shared informer.
			verbs("list", "watch").groups("*").resources("*").rule(),
			verbs("create").groups(core).resources("serviceaccounts/token").rule(),
		),
		clusterRole("system:kube-dns",
			verbs("list", "watch").groups(core).resources("endpoints", "services").rule(),
		),
		clusterRole("system:kube-aggregator",
			verbs(read...).groups(core).resources("services", "endpoints").rule(),
		),
		clusterRole("system:kubelet-api-admin",
			verbs("get", "list", "watch").groups(core).resources("nodes").rule(),
			verbs("proxy").groups(core).resources("nodes").rule(),
			verbs("*").groups(core).resources("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log").rule(),
			verbs("*").groups(core).resources("nodes/pods", "nodes/healthz", "nodes/configz").rule(),
		),
		clusterRole("system:heapster",
			verbs(read...).groups(core).resources("events", "pods", "nodes", "namespaces").rule(),
			verbs(read...).groups(extensionsGroup).resources("deployments").rule(),
		),
		clusterRole("system:node-problem-detector",
			verbs("get").groups(core).resources("nodes").rule(),
			verbs("patch").groups(core).resources("nodes/status").rule(),
			eventsRule(),
		),
		clusterRole("system:node-bootstrapper",
			verbs("create", "get", "list", "watch").groups(certsGroup).resources("certificatesigningrequests").rule(),
		),
		clusterRole("system:auth-delegator",
			verbs("create").groups(authnGroup).resources("tokenreviews").rule(),
			verbs("create").groups(authzGroup).resources("subjectaccessreviews").rule(),
		),
		clusterRole("system:persistent-volume-provisioner",
			verbs("get", "list", "watch", "create", "delete").groups(core).resources("persistentvolumes").rule(),
			verbs("get", "list", "watch", "update").groups(core).resources("persistentvolumeclaims").rule(),
			verbs(read...).groups(storageGroup).resources("storageclasses").rule(),
			verbs("watch").groups(core).resources("events").rule(),
			eventsRule(),
		),

		// Certificate approval, by signer.
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
			verbs("create").groups(certsGroup).resources("certificatesigningrequests/nodeclient").rule(),
		),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
			verbs("create").groups(certsGroup).resources("certificatesigningrequests/selfnodeclient").rule(),
		),
		approver("system:certificates.k8s.io:legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
		approver("system:certificates.k8s.io:kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
		approver("system:certificates.k8s.io:kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
		approver("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
	}
}

// ClusterRoleBindings returns the default cluster role bindings.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return []rbacv1.ClusterRoleBinding{
		clusterBinding("cluster-admin", groups(GroupMasters)),
		clusterBinding("system:monitoring", groups(GroupMonitoring)),
		clusterBinding("system:discovery", groups(GroupAuthenticated)),
		clusterBinding("system:basic-user", groups(GroupAuthenticated)),
		clusterBinding("system:public-info-viewer", groups(GroupAuthenticated, GroupUnauthenticated)),
		clusterBinding("system:node-proxier", users(UserKubeProxy)),
		clusterBinding("system:kube-controller-manager", users(UserKubeControllerManager)),
		clusterBinding("system:kube-dns", serviceAccounts("kube-system", "kube-dns")),
		clusterBinding("system:kube-scheduler", users(UserKubeScheduler)),
		clusterBinding("system:volume-scheduler", users(UserKubeScheduler)),
		// Kept without subjects, as upstream: nodes get their access from
		// the Node authorizer, not from this binding.
		clusterBinding("system:node"),
		clusterBinding("system:service-account-issuer-discovery", groups(GroupServiceAccounts)),
		clusterBinding("system:cluster-trust-bundle-discovery", groups(GroupServiceAccounts)),
	}
}

func aggregated(name string, labels map[string]string, selectorLabel string) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{
		ObjectMeta: meta(name, "", labels),
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{selectorLabel: "true"}},
		}},
	}
}

func approver(name, signer string) rbacv1.ClusterRole {
	return clusterRole(name, verbs("approve").groups(certsGroup).resources("signers").names(signer).rule())
}

// viewRules read everything in a namespace that is not a secret and not
// a way into a running container.
func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		verbs(read...).groups(core).resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps").rule(),
		verbs(read...).groups(core).resources("limitranges", "resourcequotas", "bindings",
			"pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log").rule(),
		// Reading namespaces at namespace scope reads that namespace only.
		verbs(read...).groups(core).resources("namespaces").rule(),
		verbs(read...).groups(core, eventsGroup).resources("events").rule(),
		verbs(read...).groups(discoveryGroup).resources("endpointslices").rule(),
		verbs(read...).groups(appsGroup).resources("controllerrevisions",
			"statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status",
			"deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale").rule(),
		verbs(read...).groups(autoscalingGrp).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status").rule(),
		verbs(read...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status").rule(),
		verbs(read...).groups(extensionsGroup).resources("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
			"networkpolicies").rule(),
		verbs(read...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status").rule(),
		verbs(read...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status").rule(),
		verbs(read...).groups(resourceGroup).resources("resourceclaims", "resourceclaims/status", "resourceclaimtemplates").rule(),
	}
}

// editRules change everything a user runs in a namespace, and read
// secrets, but grant no permissions and touch no status or quota.
func editRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		verbs(read...).groups(core).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy").rule(),
		verbs("impersonate").groups(core).resources("serviceaccounts").rule(),
		verbs(write...).groups(core).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward").rule(),
		verbs("create").groups(core).resources("pods/eviction").rule(),
		verbs(write...).groups(core).resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets").rule(),
		verbs("create").groups(core).resources("serviceaccounts/token").rule(),
		verbs(write...).groups(core, eventsGroup).resources("events").rule(),
		verbs(write...).groups(appsGroup).resources("statefulsets", "statefulsets/scale", "daemonsets",
			"deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale").rule(),
		verbs(write...).groups(autoscalingGrp).resources("horizontalpodautoscalers").rule(),
		verbs(write...).groups(batchGroup).resources("jobs", "cronjobs").rule(),
		verbs(write...).groups(extensionsGroup).resources("daemonsets", "deployments", "deployments/scale", "deployments/rollback",
			"ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies").rule(),
		verbs(write...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
		verbs(write...).groups(networkingGroup).resources("networkpolicies", "ingresses").rule(),
		verbs(readWrite...).groups(coordGroup).resources("leases").rule(),
		verbs(write...).groups(resourceGroup).resources("resourceclaims", "resourceclaimtemplates").rule(),
	}
}

// nodeRules are what a kubelet needs; the Node authorizer narrows them
// to the objects of the node's own pods.
func nodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		verbs("create").groups(authnGroup).resources("tokenreviews").rule(),
		verbs("create").groups(authzGroup).resources("subjectaccessreviews", "localsubjectaccessreviews").rule(),
		verbs(read...).groups(core).resources("services").rule(),
		verbs("create", "get", "list", "watch").groups(core).resources("nodes").rule(),
		verbs("update", "patch").groups(core).resources("nodes/status").rule(),
		verbs("update", "patch").groups(core).resources("nodes").rule(),
		verbs("create", "update", "patch").groups(core, eventsGroup).resources("events").rule(),
		verbs(read...).groups(core).resources("pods").rule(),
		// Mirror pods.
		verbs("create", "delete").groups(core).resources("pods").rule(),
		verbs("update", "patch").groups(core).resources("pods/status").rule(),
		verbs("create").groups(core).resources("pods/eviction").rule(),
		verbs("get", "list", "watch").groups(core).resources("secrets", "configmaps").rule(),
		verbs("get").groups(core).resources("persistentvolumeclaims", "persistentvolumes").rule(),
		verbs("get").groups(core).resources("endpoints").rule(),
		verbs("create", "get", "list", "watch").groups(certsGroup).resources("certificatesigningrequests").rule(),
		verbs("get", "create", "update", "patch", "delete").groups(coordGroup).resources("leases").rule(),
		verbs("get").groups(storageGroup).resources("volumeattachments").rule(),
		verbs("create").groups(core).resources("serviceaccounts/token").rule(),
		verbs("get", "update", "patch").groups(core).resources("persistentvolumeclaims/status").rule(),
		verbs("get", "watch", "list").groups(storageGroup).resources("csidrivers").rule(),
		verbs("get", "create", "update", "patch", "delete").groups(storageGroup).resources("csinodes").rule(),
		verbs("get", "list", "watch").groups(nodeGroup).resources("runtimeclasses").rule(),
		verbs("get").groups(resourceGroup).resources("resourceclaims").rule(),
		verbs("deletecollection").groups(resourceGroup).resources("resourceslices").rule(),
		verbs("get", "list", "watch").groups(certsGroup).resources("clustertrustbundles").rule(),
		verbs("get").groups(core).resources("serviceaccounts").rule(),
		verbs("get", "list", "watch", "create").groups(certsGroup).resources("podcertificaterequests").rule(),
	}
}

func schedulerRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		eventsRule(),
		// Leader election.
		verbs("create").groups(coordGroup).resources("leases").rule(),
		verbs("get", "update", "list", "watch").groups(coordGroup).resources("leases").names("kube-scheduler").rule(),
		verbs(readWrite...).groups(coordGroup).resources("leasecandidates").rule(),
		// Placing pods.
		verbs(read...).groups(core).resources("nodes").rule(),
		verbs("get", "list", "watch", "delete").groups(core).resources("pods").rule(),
		verbs("create").groups(core).resources("pods/binding", "bindings").rule(),
		verbs("patch", "update").groups(core).resources("pods/status").rule(),
		// What selects pods, and what pods use.
		verbs(read...).groups(core).resources("services", "replicationcontrollers").rule(),
		verbs(read...).groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
		verbs(read...).groups(appsGroup).resources("statefulsets").rule(),
		verbs(read...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
		verbs(read...).groups(core).resources("persistentvolumeclaims", "persistentvolumes").rule(),
		verbs("create").groups(authnGroup).resources("tokenreviews").rule(),
		verbs("create").groups(authzGroup).resources("subjectaccessreviews").rule(),
		verbs(read...).groups(storageGroup).resources("csinodes").rule(),
		verbs("get", "list", "watch").groups(storageGroup).resources("volumeattachments").rule(),
		verbs(read...).groups(core).resources("namespaces").rule(),
		verbs(read...).groups(storageGroup).resources("csidrivers").rule(),
		verbs(read...).groups(storageGroup).resources("csistoragecapacities").rule(),
		// Dynamic resource allocation.
		verbs(read...).groups(resourceGroup).resources("deviceclasses").rule(),
		verbs(readUpdate...).groups(resourceGroup).resources("resourceclaims").rule(),
		verbs(readUpdate...).groups(resourceGroup).resources("resourceclaims/status").rule(),
		verbs("update").groups(core).resources("pods/finalizers").rule(),
		verbs(read...).groups(resourceGroup).resources("resourceslices").rule(),
		verbs("create", "delete").groups(resourceGroup).resources("resourceclaims").rule(),
		verbs(read...).groups(resourceGroup).resources("devicetaintrules").rule(),
		verbs("update", "patch").groups(resourceGroup).resources("resourceclaims/binding").rule(),
	}
}
