// Package bootstrap holds the RBAC policy an API server creates when it
// starts, the same as upstream Kubernetes' default policy: the user-facing
// cluster roles (cluster-admin, admin, edit, view and their aggregation
// roles), the roles of the system components (system:node,
// system:kube-scheduler, system:kube-controller-manager,
// system:node-proxier, ...), the per-controller roles
// (system:controller:*), the leader-election roles in kube-system, and the
// bindings that give them to their users.
//
// It is data only. The server creates each object that does not exist;
// objects annotated rbac.authorization.kubernetes.io/autoupdate=true may
// also be reconciled (missing rules and subjects added back), as upstream
// does. admin, edit and view carry no rules of their own: the cluster role
// aggregation controller fills them from the roles their selectors match.
package bootstrap

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations every bootstrap object carries.
const (
	BootstrapLabel      = "kubernetes.io/bootstrapping"
	BootstrapLabelValue = "rbac-defaults"
	AutoUpdateKey       = rbacv1.AutoUpdateAnnotationKey
)

// API groups the rules name.
const (
	core            = ""
	admissionGroup  = "admissionregistration.k8s.io"
	appsGroup       = "apps"
	authnGroup      = "authentication.k8s.io"
	authzGroup      = "authorization.k8s.io"
	autoscalingGrp  = "autoscaling"
	batchGroup      = "batch"
	certsGroup      = "certificates.k8s.io"
	coordGroup      = "coordination.k8s.io"
	discoveryGroup  = "discovery.k8s.io"
	eventsGroup     = "events.k8s.io"
	extensionsGroup = "extensions"
	networkingGroup = "networking.k8s.io"
	nodeGroup       = "node.k8s.io"
	policyGroup     = "policy"
	rbacGroup       = rbacv1.GroupName
	resourceGroup   = "resource.k8s.io"
	storageGroup    = "storage.k8s.io"
)

// Verb sets that recur.
var (
	read       = []string{"get", "list", "watch"}
	write      = []string{"create", "update", "patch", "delete", "deletecollection"}
	readWrite  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	readUpdate = []string{"get", "list", "watch", "update", "patch"}
)

// ruleBuilder assembles a PolicyRule; rule() returns it with every list
// sorted and deduplicated, the canonical form upstream stores.
type ruleBuilder struct{ r rbacv1.PolicyRule }

func verbs(v ...string) *ruleBuilder {
	return &ruleBuilder{r: rbacv1.PolicyRule{Verbs: append([]string(nil), v...)}}
}

func (b *ruleBuilder) groups(g ...string) *ruleBuilder {
	b.r.APIGroups = append(b.r.APIGroups, g...)
	return b
}

func (b *ruleBuilder) resources(r ...string) *ruleBuilder {
	b.r.Resources = append(b.r.Resources, r...)
	return b
}

func (b *ruleBuilder) names(n ...string) *ruleBuilder {
	b.r.ResourceNames = append(b.r.ResourceNames, n...)
	return b
}

func (b *ruleBuilder) urls(u ...string) *ruleBuilder {
	b.r.NonResourceURLs = append(b.r.NonResourceURLs, u...)
	return b
}

func (b *ruleBuilder) rule() rbacv1.PolicyRule {
	r := b.r
	r.Verbs = canonical(r.Verbs)
	r.APIGroups = canonical(r.APIGroups)
	r.Resources = canonical(r.Resources)
	r.ResourceNames = canonical(r.ResourceNames)
	r.NonResourceURLs = canonical(r.NonResourceURLs)
	return r
}

func canonical(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := append([]string(nil), list...)
	sort.Strings(out)
	n := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[n-1] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}

// eventsRule lets a component record events through either events API.
func eventsRule() rbacv1.PolicyRule {
	return verbs("create", "update", "patch").groups(core, eventsGroup).resources("events").rule()
}

// meta returns the metadata of a bootstrap object, with extra labels.
func meta(name, namespace string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{BootstrapLabel: BootstrapLabelValue}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   namespace,
		Labels:      l,
		Annotations: map[string]string{AutoUpdateKey: "true"},
	}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: meta(name, "", nil), Rules: rules}
}

// subjects builds binding subjects.
func users(names ...string) []rbacv1.Subject {
	return subjectsOf(rbacv1.UserKind, rbacGroup, "", names)
}

func groups(names ...string) []rbacv1.Subject {
	return subjectsOf(rbacv1.GroupKind, rbacGroup, "", names)
}

func serviceAccounts(namespace string, names ...string) []rbacv1.Subject {
	return subjectsOf(rbacv1.ServiceAccountKind, "", namespace, names)
}

func subjectsOf(kind, apiGroup, namespace string, names []string) []rbacv1.Subject {
	out := make([]rbacv1.Subject, 0, len(names))
	for _, n := range names {
		out = append(out, rbacv1.Subject{Kind: kind, APIGroup: apiGroup, Namespace: namespace, Name: n})
	}
	return out
}

// clusterBinding binds the cluster role of the same name.
func clusterBinding(role string, subjects ...[]rbacv1.Subject) rbacv1.ClusterRoleBinding {
	var all []rbacv1.Subject
	for _, s := range subjects {
		all = append(all, s...)
	}
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(role, "", nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: role},
		Subjects:   all,
	}
}
