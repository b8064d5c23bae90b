package node

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/rbac"
	"github.com/kemudi/kemudi/internal/registry/rbac/bootstrap"
)

func nodeUser(name string) *auth.User {
	return &auth.User{Name: UserPrefix + name, Groups: []string{Group, auth.Authenticated}}
}

func podOn(node, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName:           node,
			ServiceAccountName: "web",
			ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "pull"}},
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-password"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
				{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-secret"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-cm"}}},
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				}}}},
			},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "K", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api-key"}}}}},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env"}}}}}},
			ResourceClaims: []corev1.PodResourceClaim{
				{Name: "gpu", ResourceClaimName: ptr.To("shared-gpu")},
				{Name: "fpga", ResourceClaimTemplateName: ptr.To("fpga-template")},
				{Name: "pending", ResourceClaimTemplateName: ptr.To("other-template")},
			},
		},
		Status: corev1.PodStatus{ResourceClaimStatuses: []corev1.PodResourceClaimStatus{{Name: "fpga", ResourceClaimName: ptr.To(name + "-fpga-x7k2")}}},
	}
}

// boundPV is a CSI volume bound to default/<claim> with a node publish
// secret (the kubelet's) and a controller publish secret (not the
// kubelet's), both in the namespace "storage".
func boundPV(name, claim string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			ClaimRef: &corev1.ObjectReference{Namespace: "default", Name: claim},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: "hostpath.csi.k8s.io", VolumeHandle: name,
				NodePublishSecretRef:       &corev1.SecretReference{Namespace: "storage", Name: "csi-node"},
				ControllerPublishSecretRef: &corev1.SecretReference{Namespace: "storage", Name: "csi-controller"},
			}},
		},
	}
}

func testIndex() *rbac.Index {
	idx := rbac.NewIndex()
	for _, r := range bootstrap.ClusterRoles() {
		if r.Name == RoleName {
			idx.Set(&r)
		}
	}
	return idx
}

// TestAuthorizer: a node reads what its pods use, the volumes bound to
// their claims and those volumes' secrets, its own Node, Lease, CSINode,
// volume attachments and resource slices, and nothing of another node's;
// refusals carry upstream's reasons; what the authorizer does not
// subdivide follows upstream's system:node role.
func TestAuthorizer(t *testing.T) {
	g := NewGraph()
	g.SetPod(podOn("n1", "web-1"))
	g.SetPod(podOn("", "pending")) // not bound: gives no node anything
	mirror := podOn("n1", "static-n1")
	mirror.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	mirror.Spec.Volumes[0].Secret.SecretName = "mirror-secret"
	g.SetPod(mirror) // a mirror pod relates its node to nothing it names
	g.SetPV(boundPV("pv-data", "data"))
	g.SetPV(boundPV("pv-other", "other-claim"))
	g.SetOnNode(KindVolumeAttachment, "", "va-n1", "n1")
	g.SetOnNode(KindResourceSlice, "", "slice-n1", "n1")
	z := Authorizer{Index: testIndex(), Graph: g}
	const noRel = "no relationship found between node 'n2' and this object"
	sel := func(s string) fields.Requirements { return fields.ParseSelectorOrDie(s).Requirements() }
	tests := []struct {
		node, verb, group, resource, sub, ns, name string
		fieldSelector                              fields.Requirements
		allow                                      bool
		reason                                     string // for refusals, when checked
	}{
		// What pods use.
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "db-password", allow: true},
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "api-key", allow: true},
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "pull", allow: true},
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "projected-secret", allow: true},
		{node: "n1", verb: "watch", resource: "secrets", ns: "default", name: "db-password", allow: true},
		{node: "n1", verb: "get", resource: "configmaps", ns: "default", name: "settings", allow: true},
		{node: "n1", verb: "get", resource: "configmaps", ns: "default", name: "env", allow: true},
		{node: "n1", verb: "list", resource: "configmaps", ns: "default", name: "projected-cm", allow: true},
		{node: "n1", verb: "get", resource: "persistentvolumeclaims", ns: "default", name: "data", allow: true},
		{node: "n1", verb: "get", resource: "persistentvolumeclaims", ns: "default", name: "web-1-scratch", allow: true},
		{node: "n1", verb: "patch", resource: "persistentvolumeclaims", sub: "status", ns: "default", name: "data", allow: true},
		{node: "n1", verb: "get", resource: "serviceaccounts", ns: "default", name: "web", allow: true},
		{node: "n1", verb: "create", resource: "serviceaccounts", sub: "token", ns: "default", name: "web", allow: true},
		{node: "n1", verb: "get", resource: "pods", ns: "default", name: "web-1", allow: true},
		{node: "n1", verb: "get", group: "resource.k8s.io", resource: "resourceclaims", ns: "default", name: "shared-gpu", allow: true},
		{node: "n1", verb: "get", group: "resource.k8s.io", resource: "resourceclaims", ns: "default", name: "web-1-fpga-x7k2", allow: true},
		// Volumes bound to the pods' claims, and their kubelet secrets.
		{node: "n1", verb: "get", resource: "persistentvolumes", name: "pv-data", allow: true},
		{node: "n1", verb: "get", resource: "secrets", ns: "storage", name: "csi-node", allow: true},
		{node: "n1", verb: "get", resource: "secrets", ns: "storage", name: "csi-controller", reason: "no relationship found between node 'n1' and this object"},
		{node: "n1", verb: "get", resource: "persistentvolumes", name: "pv-other", reason: "no relationship found between node 'n1' and this object"},
		{node: "n1", verb: "list", resource: "persistentvolumes", reason: "can only get individual resources of this type"},
		// Objects tied to the node.
		{node: "n1", verb: "get", group: "storage.k8s.io", resource: "volumeattachments", name: "va-n1", allow: true},
		{node: "n1", verb: "get", group: "resource.k8s.io", resource: "resourceslices", name: "slice-n1", allow: true},
		{node: "n1", verb: "delete", group: "resource.k8s.io", resource: "resourceslices", name: "slice-n1", allow: true},
		{node: "n1", verb: "list", group: "resource.k8s.io", resource: "resourceslices", fieldSelector: sel("spec.nodeName=n1"), allow: true},
		{node: "n1", verb: "create", group: "resource.k8s.io", resource: "resourceslices", allow: true},
		{node: "n1", verb: "get", group: "storage.k8s.io", resource: "csinodes", name: "n1", allow: true},
		{node: "n1", verb: "create", group: "storage.k8s.io", resource: "csinodes", allow: true},
		{node: "n1", verb: "get", group: "coordination.k8s.io", resource: "leases", ns: "kube-node-lease", name: "n1", allow: true},
		{node: "n1", verb: "get", resource: "nodes", name: "n1", allow: true},
		{node: "n1", verb: "list", resource: "pods", fieldSelector: sel("spec.nodeName=n1"), allow: true},
		{node: "n1", verb: "create", resource: "pods", sub: "eviction", ns: "default", name: "anything", allow: true},
		// Refusals, with upstream's reasons.
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "unrelated", reason: "no relationship found between node 'n1' and this object"},
		{node: "n1", verb: "get", resource: "secrets", ns: "default", name: "mirror-secret", reason: "no relationship found between node 'n1' and this object"},
		{node: "n1", verb: "list", resource: "secrets", ns: "default", reason: "No Object name found"},
		{node: "n1", verb: "list", resource: "secrets", reason: "can only read namespaced object of this type"},
		{node: "n1", verb: "update", resource: "secrets", ns: "default", name: "db-password", reason: "can only read resources of this type"},
		{node: "n1", verb: "update", resource: "persistentvolumeclaims", ns: "default", name: "data", reason: "can only get individual resources of this type"},
		{node: "n1", verb: "create", resource: "serviceaccounts", sub: "token", ns: "default", reason: "can only create tokens for individual service accounts"},
		{node: "n1", verb: "get", group: "resource.k8s.io", resource: "resourceclaims", ns: "default", name: "other-template-claim", reason: "no relationship found between node 'n1' and this object"},
		{node: "n1", verb: "list", resource: "pods", reason: "can only list/watch pods with spec.nodeName field selector"},
		{node: "n1", verb: "list", resource: "pods", fieldSelector: sel("spec.nodeName=n2"), reason: "can only list/watch pods with spec.nodeName field selector"},
		{node: "n1", verb: "list", group: "resource.k8s.io", resource: "resourceslices", reason: "can only list/watch/deletecollection resourceslices with nodeName field selector"},
		{node: "n1", verb: "get", resource: "nodes", name: "n2", reason: "node 'n1' cannot read 'n2', only its own Node object"},
		{node: "n1", verb: "list", resource: "nodes", reason: "node 'n1' cannot read all nodes, only its own Node object"},
		{node: "n1", verb: "update", group: "coordination.k8s.io", resource: "leases", ns: "kube-node-lease", name: "n2", reason: "can only access node lease with the same name as the requesting node"},
		{node: "n1", verb: "get", group: "coordination.k8s.io", resource: "leases", ns: "default", name: "n1", reason: `can only access leases in the "kube-node-lease" system namespace`},
		{node: "n1", verb: "list", group: "coordination.k8s.io", resource: "leases", ns: "kube-node-lease", reason: "can only get, create, update, patch, or delete a node lease"},
		{node: "n1", verb: "delete", group: "storage.k8s.io", resource: "csinodes", name: "n2", reason: "can only access CSINode with the same name as the requesting node"},
		{node: "n1", verb: "update", group: "storage.k8s.io", resource: "csinodes", sub: "status", name: "n1", reason: "CSINode status access requires CSIVolumeHealth feature"},
		{node: "n1", verb: "list", group: "storage.k8s.io", resource: "csinodes", reason: "can only get, create, update, patch, or delete a CSINode"},
		{node: "n1", verb: "list", group: "storage.k8s.io", resource: "volumeattachments", reason: "can only get individual resources of this type"},
		// The other node gets none of n1's.
		{node: "n2", verb: "get", resource: "secrets", ns: "default", name: "db-password", reason: noRel},
		{node: "n2", verb: "get", resource: "secrets", ns: "storage", name: "csi-node", reason: noRel},
		{node: "n2", verb: "get", resource: "configmaps", ns: "default", name: "settings", reason: noRel},
		{node: "n2", verb: "get", resource: "persistentvolumeclaims", ns: "default", name: "data", reason: noRel},
		{node: "n2", verb: "get", resource: "persistentvolumes", name: "pv-data", reason: noRel},
		{node: "n2", verb: "create", resource: "serviceaccounts", sub: "token", ns: "default", name: "web", reason: noRel},
		{node: "n2", verb: "get", resource: "pods", ns: "default", name: "web-1", reason: noRel},
		{node: "n2", verb: "get", group: "resource.k8s.io", resource: "resourceclaims", ns: "default", name: "shared-gpu", reason: noRel},
		{node: "n2", verb: "get", group: "storage.k8s.io", resource: "volumeattachments", name: "va-n1", reason: noRel},
		{node: "n2", verb: "update", group: "resource.k8s.io", resource: "resourceslices", name: "slice-n1", reason: noRel},
		{node: "n2", verb: "get", group: "storage.k8s.io", resource: "csinodes", name: "n1", reason: "can only access CSINode with the same name as the requesting node"},
		// What the authorizer does not subdivide: upstream's system:node role.
		{node: "n2", verb: "list", resource: "services", allow: true},
		{node: "n2", verb: "create", group: "certificates.k8s.io", resource: "certificatesigningrequests", allow: true},
		{node: "n2", verb: "list", group: "storage.k8s.io", resource: "csidrivers", allow: true},
		{node: "n2", verb: "list", resource: "namespaces"},
		{node: "n2", verb: "delete", resource: "services", ns: "default", name: "x"},
	}
	for _, tt := range tests {
		a := auth.Attributes{User: nodeUser(tt.node), Verb: tt.verb, ResourceRequest: true, APIGroup: tt.group, Resource: tt.resource,
			Subresource: tt.sub, Namespace: tt.ns, Name: tt.name, FieldSelector: tt.fieldSelector}
		d, reason, err := z.Authorize(context.Background(), a)
		if err != nil || (d == auth.Allow) != tt.allow {
			t.Errorf("%s %s %s/%s %s/%s: %v %q %v, want allowed %v", tt.node, tt.verb, tt.resource, tt.sub, tt.ns, tt.name, d, reason, err, tt.allow)
			continue
		}
		if !tt.allow && tt.reason != "" && reason != tt.reason {
			t.Errorf("%s %s %s/%s %s/%s: reason %q, want %q", tt.node, tt.verb, tt.resource, tt.sub, tt.ns, tt.name, reason, tt.reason)
		}
	}

	// The message a client sees.
	a := auth.Attributes{User: nodeUser("n2"), Verb: "get", ResourceRequest: true, Resource: "persistentvolumes", Name: "pv-data"}
	_, reason, _ := z.Authorize(context.Background(), a)
	want := `User "system:node:n2" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'n2' and this object`
	if got := auth.ForbiddenReason(a, reason); got != want {
		t.Errorf("message %q\nwant %q", got, want)
	}

	// Not a node: no opinion. A node without a name: refused.
	if d, _, _ := z.Authorize(context.Background(), auth.Attributes{User: &auth.User{Name: "system:node:n1"}, Verb: "get", ResourceRequest: true, Resource: "pods"}); d != auth.NoOpinion {
		t.Error("a user named like a node but not in system:nodes was allowed")
	}
	if d, reason, _ := z.Authorize(context.Background(), auth.Attributes{User: nodeUser(""), Verb: "get", ResourceRequest: true, Resource: "services"}); d == auth.Allow || reason != `unknown node for user "system:node:"` {
		t.Errorf("a node without a name: %v %q", d, reason)
	}
}

// TestAuthorizerWaitsForTheGraph: a request the graph finds no path for
// is decided again once Fresh says the graph holds the store's newest
// state (the pod bound a moment ago), and refused as before when it does
// not; allowed requests and other refusals never wait.
func TestAuthorizerWaitsForTheGraph(t *testing.T) {
	token := auth.Attributes{User: nodeUser("n1"), Verb: "create", ResourceRequest: true, Resource: "serviceaccounts",
		Subresource: "token", Namespace: "default", Name: "web"}
	tests := []struct {
		name      string
		attrs     auth.Attributes
		applies   bool // Fresh brings the pod into the graph
		caughtUp  bool // what Fresh answers
		wantAllow bool
		wantCalls int
	}{
		{name: "pod arrives while waiting", attrs: token, applies: true, caughtUp: true, wantAllow: true, wantCalls: 1},
		{name: "graph holds no such pod", attrs: token, caughtUp: true, wantCalls: 1},
		{name: "graph does not catch up", attrs: token, applies: true, caughtUp: false, wantCalls: 1},
		{name: "other refusal", attrs: auth.Attributes{User: nodeUser("n1"), Verb: "list", ResourceRequest: true, Resource: "serviceaccounts",
			Subresource: "token", Namespace: "default"}, caughtUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGraph()
			calls := 0
			z := Authorizer{Index: testIndex(), Graph: g, Fresh: func(ctx context.Context) bool {
				calls++
				if _, ok := ctx.Deadline(); !ok {
					t.Error("Fresh called without a deadline")
				}
				if tt.applies {
					g.SetPod(podOn("n1", "a"))
				}
				return tt.caughtUp
			}}
			d, reason, err := z.Authorize(context.Background(), tt.attrs)
			if err != nil || (d == auth.Allow) != tt.wantAllow || calls != tt.wantCalls {
				t.Fatalf("got %v %q %v after %d waits, want allowed %v after %d", d, reason, err, calls, tt.wantAllow, tt.wantCalls)
			}
			if !tt.wantAllow && tt.wantCalls > 0 && reason != noRelationship("n1") {
				t.Errorf("reason %q", reason)
			}
			// Once the graph holds the pod, nothing waits.
			if tt.wantAllow {
				if d, _, _ := z.Authorize(context.Background(), tt.attrs); d != auth.Allow || calls != 1 {
					t.Errorf("second request: %v after %d waits", d, calls)
				}
			}
		})
	}
}

// TestGraphFollowsChanges: edges come and go with the pods, claims'
// volumes and attachments that make them.
func TestGraphFollowsChanges(t *testing.T) {
	g := NewGraph()
	has := func(node, kind, ns, name string) bool { return g.HasPath(node, kind, ns, name) }
	g.SetPod(podOn("n1", "a"))
	g.SetPod(podOn("n1", "b"))
	g.SetPV(boundPV("pv-data", "data"))
	steps := []struct {
		name   string
		change func()
		node   string
		kind   string
		ns     string
		obj    string
		want   bool
	}{
		{"shared secret", func() {}, "n1", KindSecret, "default", "db-password", true},
		{"one of two pods gone", func() { g.DeletePod("default", "a") }, "n1", KindSecret, "default", "db-password", true},
		{"last pod moves", func() { g.SetPod(podOn("n2", "b")) }, "n1", KindSecret, "default", "db-password", false},
		{"to the other node", func() {}, "n2", KindSecret, "default", "db-password", true},
		{"its volume follows", func() {}, "n2", KindPV, "", "pv-data", true},
		{"and the volume's secret", func() {}, "n2", KindSecret, "storage", "csi-node", true},
		{"volume rebound to another claim", func() { g.SetPV(boundPV("pv-data", "elsewhere")) }, "n2", KindPV, "", "pv-data", false},
		{"its secret with it", func() {}, "n2", KindSecret, "storage", "csi-node", false},
		{"rebound back", func() { g.SetPV(boundPV("pv-data", "data")) }, "n2", KindPV, "", "pv-data", true},
		{"volume released", func() { pv := boundPV("pv-data", "data"); pv.Spec.ClaimRef = nil; g.SetPV(pv) }, "n2", KindPV, "", "pv-data", false},
		{"volume deleted", func() { g.SetPV(boundPV("pv-data", "data")); g.DeletePV("pv-data") }, "n2", KindSecret, "storage", "csi-node", false},
		{"attachment", func() { g.SetOnNode(KindVolumeAttachment, "", "va", "n1") }, "n1", KindVolumeAttachment, "", "va", true},
		{"attachment moves", func() { g.SetOnNode(KindVolumeAttachment, "", "va", "n2") }, "n1", KindVolumeAttachment, "", "va", false},
		{"attachment relisted away", func() { g.ResetOnNode(KindVolumeAttachment, nil) }, "n2", KindVolumeAttachment, "", "va", false},
		{"pods relisted", func() { g.ResetPods([]*corev1.Pod{podOn("n1", "c")}) }, "n2", KindSecret, "default", "db-password", false},
		{"relisted pod counts", func() {}, "n1", KindSecret, "default", "db-password", true},
		{"unbound pod", func() { g.SetPod(podOn("", "c")) }, "n1", KindSecret, "default", "db-password", false},
	}
	for _, s := range steps {
		s.change()
		if got := has(s.node, s.kind, s.ns, s.obj); got != s.want {
			t.Errorf("%s: %s reaches %s %s/%s: %v, want %v", s.name, s.node, s.kind, s.ns, s.obj, got, s.want)
		}
	}
}

// TestPVSecrets: the secrets of a volume the kubelet reads, in the
// namespace the source names or else its claim's.
func TestPVSecrets(t *testing.T) {
	claim := &corev1.ObjectReference{Namespace: "app", Name: "c"}
	tests := []struct {
		name string
		src  corev1.PersistentVolumeSource
		want []ref
	}{
		{"csi node secrets only", boundPV("x", "c").Spec.PersistentVolumeSource, []ref{{KindSecret, "storage", "csi-node"}}},
		{"rbd without namespace: the claim's", corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{SecretRef: &corev1.SecretReference{Name: "ceph"}}}, []ref{{KindSecret, "app", "ceph"}}},
		{"iscsi with namespace", corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{SecretRef: &corev1.SecretReference{Namespace: "iscsi", Name: "chap"}}}, []ref{{KindSecret, "iscsi", "chap"}}},
		{"azure file", corev1.PersistentVolumeSource{AzureFile: &corev1.AzureFilePersistentVolumeSource{SecretName: "az"}}, []ref{{KindSecret, "app", "az"}}},
		{"host path: none", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}, nil},
	}
	for _, tt := range tests {
		pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{ClaimRef: claim, PersistentVolumeSource: tt.src}}
		got := pvSecrets(pv)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}
