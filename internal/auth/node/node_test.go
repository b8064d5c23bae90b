package node

import (
	"context"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
)

func nodeUser(name string) *auth.User {
	return &auth.User{Name: UserPrefix + name, Groups: []string{Group, auth.Authenticated}}
}

func podOn(node, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:           node,
			ServiceAccountName: "web",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "pull"}},
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-password"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "K", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api-key"}}}}},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}}}}},
		},
	}
}

// TestAuthorizerGraph: a node reads what its pods use and nothing of
// another node's pods; everything else follows the system:node role.
func TestAuthorizerGraph(t *testing.T) {
	idx := rbac.NewIndex()
	idx.Set(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: RoleName}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"secrets", "configmaps", "pods", "nodes"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims", "serviceaccounts"}},
		{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}},
	}})
	g := NewGraph()
	g.SetPod(podOn("n1", "web-1"))
	g.SetPod(podOn("", "pending")) // not bound: gives no node anything
	z := Authorizer{Index: idx, Graph: g}
	type tc struct {
		node, verb, resource, sub, name string
		allow                           bool
	}
	tests := []tc{
		{"n1", "get", "secrets", "", "db-password", true},
		{"n1", "get", "secrets", "", "api-key", true},
		{"n1", "get", "secrets", "", "pull", true},
		{"n1", "watch", "secrets", "", "db-password", true},
		{"n1", "get", "configmaps", "", "settings", true},
		{"n1", "get", "configmaps", "", "env", true},
		{"n1", "get", "persistentvolumeclaims", "", "data", true},
		{"n1", "get", "serviceaccounts", "", "web", true},
		{"n1", "create", "serviceaccounts", "token", "web", true},
		{"n1", "get", "secrets", "", "unrelated", false},
		{"n1", "list", "secrets", "", "", false},
		{"n1", "update", "secrets", "", "db-password", false},
		{"n2", "get", "secrets", "", "db-password", false},
		{"n2", "get", "configmaps", "", "settings", false},
		{"n2", "get", "persistentvolumeclaims", "", "data", false},
		{"n2", "create", "serviceaccounts", "token", "web", false},
		{"n2", "get", "pods", "", "web-1", true}, // static rules
		{"n2", "list", "nodes", "", "", true},
	}
	for _, tt := range tests {
		a := auth.Attributes{User: nodeUser(tt.node), Verb: tt.verb, ResourceRequest: true, Resource: tt.resource, Subresource: tt.sub, Namespace: "default", Name: tt.name}
		d, reason, err := z.Authorize(context.Background(), a)
		if err != nil || (d == auth.Allow) != tt.allow {
			t.Errorf("%s %s %s/%s %s: %v %q %v, want allowed %v", tt.node, tt.verb, tt.resource, tt.sub, tt.name, d, reason, err, tt.allow)
		}
		if tt.node == "n2" && !tt.allow && tt.resource == "secrets" {
			want := `User "system:node:n2" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`
			if got := auth.ForbiddenReason(a, reason); got != want {
				t.Errorf("message %q\nwant %q", got, want)
			}
		}
	}
	// The pod moves away: n1 loses its secrets.
	g.DeletePod(podOn("n1", "web-1"))
	if d, _, _ := z.Authorize(context.Background(), auth.Attributes{User: nodeUser("n1"), Verb: "get", ResourceRequest: true, Resource: "secrets", Namespace: "default", Name: "db-password"}); d == auth.Allow {
		t.Error("n1 still reads the secret of a deleted pod")
	}
	// Not a node: no opinion.
	if d, _, _ := z.Authorize(context.Background(), auth.Attributes{User: &auth.User{Name: "system:node:n1"}, Verb: "get", ResourceRequest: true, Resource: "pods"}); d != auth.NoOpinion {
		t.Error("a user named like a node but not in system:nodes was allowed")
	}
}

func TestGraphCountsSharedReferences(t *testing.T) {
	g := NewGraph()
	g.SetPod(podOn("n1", "a"))
	g.SetPod(podOn("n1", "b"))
	g.DeletePod(podOn("n1", "a"))
	if !g.HasEdge("n1", KindSecret, "default", "db-password") {
		t.Error("secret still used by pod b lost")
	}
	moved := podOn("n2", "b")
	g.SetPod(moved)
	if g.HasEdge("n1", KindSecret, "default", "db-password") || !g.HasEdge("n2", KindSecret, "default", "db-password") {
		t.Error("edge did not follow the pod")
	}
}

// TestRestriction: NodeRestriction's refusals, with upstream's messages.
func TestRestriction(t *testing.T) {
	own, other := podOn("n1", "mine"), podOn("n2", "theirs")
	mirror := podOn("n1", "static")
	mirror.Annotations = map[string]string{mirrorAnnotation: "x"}
	node := func(name string, labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	tests := []struct {
		name string
		r    auth.AdmissionRequest
		want string // "" admitted
	}{
		{"own pod status", auth.AdmissionRequest{Operation: auth.Update, Resource: "pods", Subresource: "status", Name: "mine", Object: own, Old: own}, ""},
		{"other's pod status", auth.AdmissionRequest{Operation: auth.Update, Resource: "pods", Subresource: "status", Name: "theirs", Object: other, Old: other},
			`pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		{"pod spec", auth.AdmissionRequest{Operation: auth.Update, Resource: "pods", Name: "mine", Object: own, Old: own}, `node "n1" can only update pod status`},
		{"delete own pod", auth.AdmissionRequest{Operation: auth.Delete, Resource: "pods", Name: "mine", Old: own}, ""},
		{"delete other's pod", auth.AdmissionRequest{Operation: auth.Delete, Resource: "pods", Name: "theirs", Old: other}, `node "n1" can only delete pods with spec.nodeName set to itself`},
		{"mirror pod", auth.AdmissionRequest{Operation: auth.Create, Resource: "pods", Name: "static", Object: mirror}, ""},
		{"plain pod", auth.AdmissionRequest{Operation: auth.Create, Resource: "pods", Name: "mine", Object: own}, `node "n1" can only create mirror pods`},
		{"own node", auth.AdmissionRequest{Operation: auth.Create, Resource: "nodes", Name: "n1", Object: node("n1", map[string]string{"kubernetes.io/hostname": "n1"})}, ""},
		{"other node", auth.AdmissionRequest{Operation: auth.Update, Resource: "nodes", Name: "n2", Object: node("n2", nil), Old: node("n2", nil)},
			`nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`},
		{"restricted label on create", auth.AdmissionRequest{Operation: auth.Create, Resource: "nodes", Name: "n1", Object: node("n1", map[string]string{"node-restriction.kubernetes.io/secure": "yes"})},
			`node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/secure`},
		{"restricted label added", auth.AdmissionRequest{Operation: auth.Update, Resource: "nodes", Name: "n1", Object: node("n1", map[string]string{"node-restriction.kubernetes.io/secure": "yes"}), Old: node("n1", nil)},
			`node "n1" is not allowed to modify labels: node-restriction.kubernetes.io/secure`},
		{"restricted label kept", auth.AdmissionRequest{Operation: auth.Update, Resource: "nodes", Name: "n1", Object: node("n1", map[string]string{"node-restriction.kubernetes.io/secure": "yes", "a": "b"}), Old: node("n1", map[string]string{"node-restriction.kubernetes.io/secure": "yes"})}, ""},
		{"own lease", auth.AdmissionRequest{Operation: auth.Update, APIGroup: coordinationv1.GroupName, Resource: "leases", Namespace: "kube-node-lease", Name: "n1"}, ""},
		{"other lease", auth.AdmissionRequest{Operation: auth.Update, APIGroup: coordinationv1.GroupName, Resource: "leases", Namespace: "kube-node-lease", Name: "n2"},
			"can only access node lease with the same name as the requesting node"},
	}
	for _, tt := range tests {
		r := tt.r
		r.User = nodeUser("n1")
		err := Restriction{}.Admit(context.Background(), &r)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// Only nodes are restricted.
	r := auth.AdmissionRequest{User: &auth.User{Name: "admin", Groups: []string{"system:masters"}}, Operation: auth.Update, Resource: "nodes", Name: "n2"}
	if err := (Restriction{}).Admit(context.Background(), &r); err != nil {
		t.Errorf("admin refused: %v", err)
	}
}
