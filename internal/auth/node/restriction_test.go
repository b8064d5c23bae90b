package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/auth"
)

// getter is a Getter over a map by namespace/name.
type getter[T any] map[string]T

func (g getter[T]) Get(_ context.Context, ns, name string) (T, error) {
	t, ok := g[ns+"/"+name]
	if !ok {
		var zero T
		return zero, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
	}
	return t, nil
}

func csrPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{Group}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestRestriction: NodeRestriction's refusals for node n1, with
// upstream's messages.
func TestRestriction(t *testing.T) {
	own, other := podOn("n1", "mine"), podOn("n2", "theirs")
	etcdClient := podOn("n1", "etcd-client")
	etcdClient.Spec.Volumes = append(etcdClient.Spec.Volumes, corev1.Volume{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "etcd", Path: "t"}}}}}})
	n1 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "n1-uid"}}
	mirror := func(mod func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "static-n1", Namespace: "kube-system",
				Annotations:     map[string]string{corev1.MirrorPodAnnotationKey: "hash"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "n1", UID: "n1-uid", Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/x"}}}}},
		}
		if mod != nil {
			mod(p)
		}
		return p
	}
	node := func(name string, mod func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
		if mod != nil {
			mod(n)
		}
		return n
	}
	withStatus := func(p *corev1.Pod, mod func(*corev1.Pod)) *corev1.Pod {
		p = p.DeepCopy()
		mod(p)
		return p
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", ResourceVersion: "5"},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	pvcGrown := pvc.DeepCopy()
	pvcGrown.ResourceVersion = ""
	pvcGrown.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
	pvcRelabeled := pvc.DeepCopy()
	pvcRelabeled.Labels = map[string]string{"x": "y"}
	selected := func(node string) *corev1.PersistentVolumeClaim {
		c := pvc.DeepCopy()
		c.Annotations = map[string]string{"volume.kubernetes.io/selected-node": node, "volume.kubernetes.io/storage-provisioner": "kemudi.io/local-path"}
		return c
	}
	unselected := selected("n1")
	delete(unselected.Annotations, "volume.kubernetes.io/selected-node")
	unselectedRelabeled := unselected.DeepCopy()
	unselectedRelabeled.Labels = map[string]string{"x": "y"}
	localPV := func(by string, hostnames ...string) *corev1.PersistentVolume {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1", Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": by}},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/var/lib/kemudi/agent/storage/pvc-1_default_data"}}}}
		if len(hostnames) > 0 {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: hostnames}}}}}}
		}
		return pv
	}
	ownPV, otherPV := localPV("kemudi.io/local-path", "n1"), localPV("kemudi.io/local-path", "n2")
	published := func(topology *metav1.LabelSelector) *storagev1.CSIStorageCapacity {
		return &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{GenerateName: "csisc-", Namespace: "kube-system"}, StorageClassName: "local-path", NodeTopology: topology}
	}
	hostSel := func(h string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelHostname: h}}
	}
	ownCap, otherCap := published(hostSel("n1")), published(hostSel("n2"))
	wideCap := published(&metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelHostname: "n1"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "zone", Operator: metav1.LabelSelectorOpExists}}})
	token := func(ref *authenticationv1.BoundObjectReference, audiences ...string) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: ref, Audiences: audiences}}
	}
	podRef := func(p *corev1.Pod) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: p.UID}
	}
	slice := func(node string) *resourcev1.ResourceSlice {
		return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: resourcev1.ResourceSliceSpec{NodeName: ptr.To(node)}}
	}
	csr := func(cn, signer string) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr"}, Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM(t, cn), SignerName: signer}}
	}
	const (
		create, update, del = auth.Create, auth.Update, auth.Delete
		coord, storage, dra = coordinationv1.GroupName, storagev1.GroupName, resourcev1.GroupName
		certs               = certificatesv1.GroupName
	)
	tests := []struct {
		name string
		r    auth.AdmissionRequest
		want string // "" admitted; else the whole message, or a part of it
	}{
		// Pods.
		{"own pod status", auth.AdmissionRequest{Operation: update, Resource: "pods", Subresource: "status", Namespace: "default", Name: "mine", Object: own, Old: own}, ""},
		{"other's pod status", auth.AdmissionRequest{Operation: update, Resource: "pods", Subresource: "status", Namespace: "default", Name: "theirs", Object: other, Old: other},
			`pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		{"labels through status", auth.AdmissionRequest{Operation: update, Resource: "pods", Subresource: "status", Namespace: "default", Name: "mine", Old: own,
			Object: withStatus(own, func(p *corev1.Pod) { p.Labels = map[string]string{"role": "db"} })}, `node "n1" cannot update labels through pod status`},
		{"claims through status", auth.AdmissionRequest{Operation: update, Resource: "pods", Subresource: "status", Namespace: "default", Name: "mine", Old: own,
			Object: withStatus(own, func(p *corev1.Pod) { p.Status.ResourceClaimStatuses[0].ResourceClaimName = ptr.To("someone-elses") })}, `node "n1" cannot update resource claim statues`},
		{"pod spec", auth.AdmissionRequest{Operation: update, Resource: "pods", Namespace: "default", Name: "mine", Object: own, Old: own},
			`pods "mine" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods`},
		{"pod binding", auth.AdmissionRequest{Operation: create, Resource: "pods", Subresource: "binding", Namespace: "default", Name: "theirs"},
			`unexpected pod subresource "binding", only 'status' and 'eviction' are allowed`},
		{"delete own pod", auth.AdmissionRequest{Operation: del, Resource: "pods", Namespace: "default", Name: "mine", Old: own}, ""},
		{"delete other's pod", auth.AdmissionRequest{Operation: del, Resource: "pods", Namespace: "default", Name: "theirs", Old: other},
			`pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself`},
		{"mirror pod", auth.AdmissionRequest{Operation: create, Resource: "pods", Namespace: "kube-system", Object: mirror(nil)}, ""},
		{"plain pod", auth.AdmissionRequest{Operation: create, Resource: "pods", Namespace: "default", Object: own},
			`pods "mine" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`},
		{"mirror pod on another node", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.Spec.NodeName = "n2" })},
			`node "n1" can only create pods with spec.nodeName set to itself`},
		{"mirror pod without owner", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.OwnerReferences = nil })},
			`node "n1" can only create pods with an owner reference set to itself`},
		{"mirror pod owned by another node", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.OwnerReferences[0].Name = "n2" })},
			`node "n1" can only create pods with an owner reference set to itself`},
		{"mirror pod not controlled", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.OwnerReferences[0].Controller = nil })},
			`node "n1" can only create pods with a controller owner reference set to itself`},
		{"mirror pod of an old node", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.OwnerReferences[0].UID = "old" })},
			`node n1 UID mismatch: expected old got n1-uid`},
		{"mirror pod with a secret", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}})
		})}, `node "n1" can not create pods that reference secrets`},
		{"mirror pod with an account", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" })},
			`node "n1" can not create pods that reference serviceaccounts`},
		{"mirror pod with a claim", auth.AdmissionRequest{Operation: create, Resource: "pods", Object: mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}})
		})}, `node "n1" can not create pods that reference persistentvolumeclaims`},
		// Evictions.
		{"evict own pod", auth.AdmissionRequest{Operation: create, Resource: "pods", Subresource: "eviction", Namespace: "default", Name: "mine", Object: &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}}, ""},
		{"evict other's pod", auth.AdmissionRequest{Operation: create, Resource: "pods", Subresource: "eviction", Namespace: "default", Name: "theirs", Object: &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}}},
			`pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself`},
		{"evict other's pod naming own in the body", auth.AdmissionRequest{Operation: create, Resource: "pods", Subresource: "eviction", Namespace: "default", Name: "theirs", Object: &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}},
			`node n1 can only evict pods with spec.nodeName set to itself`},
		{"evict a pod that is gone", auth.AdmissionRequest{Operation: create, Resource: "pods", Subresource: "eviction", Namespace: "default", Name: "gone", Object: &policyv1.Eviction{}},
			`pods "gone" not found`},
		// Nodes.
		{"own node", auth.AdmissionRequest{Operation: create, Resource: "nodes", Name: "n1", Object: node("n1", nil)}, ""},
		{"other node", auth.AdmissionRequest{Operation: update, Resource: "nodes", Name: "n2", Object: node("n2", nil), Old: node("n2", nil)},
			`nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`},
		{"restricted label on create", auth.AdmissionRequest{Operation: create, Resource: "nodes", Name: "n1", Object: node("n1", func(n *corev1.Node) { n.Labels["node-restriction.kubernetes.io/secure"] = "yes" })},
			`nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/secure`},
		{"role label on create", auth.AdmissionRequest{Operation: create, Resource: "nodes", Name: "n1", Object: node("n1", func(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" })},
			`node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane`},
		{"kubelet labels", auth.AdmissionRequest{Operation: create, Resource: "nodes", Name: "n1", Object: node("n1", func(n *corev1.Node) {
			n.Labels[corev1.LabelTopologyZone] = "a"
			n.Labels["node.kubernetes.io/pool"] = "x"
			n.Labels["example.com/any"] = "x"
		})}, ""},
		{"restricted label added", auth.AdmissionRequest{Operation: update, Resource: "nodes", Name: "n1", Old: node("n1", nil), Object: node("n1", func(n *corev1.Node) { n.Labels["node-restriction.kubernetes.io/secure"] = "yes" })},
			`nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/secure`},
		{"restricted label kept", auth.AdmissionRequest{Operation: update, Resource: "nodes", Name: "n1",
			Old:    node("n1", func(n *corev1.Node) { n.Labels["node-restriction.kubernetes.io/secure"] = "yes" }),
			Object: node("n1", func(n *corev1.Node) { n.Labels["node-restriction.kubernetes.io/secure"] = "yes"; n.Labels["a"] = "b" })}, ""},
		{"own taints", auth.AdmissionRequest{Operation: update, Resource: "nodes", Name: "n1", Old: node("n1", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}
		}), Object: node("n1", nil)}, `node "n1" is not allowed to modify taints`},
		{"own owners", auth.AdmissionRequest{Operation: update, Resource: "nodes", Name: "n1", Old: node("n1", nil), Object: node("n1", func(n *corev1.Node) {
			n.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: "x", UID: "u"}}
		})}, `node "n1" is not allowed to modify ownerReferences`},
		// Leases and CSINodes.
		{"own lease", auth.AdmissionRequest{Operation: update, APIGroup: coord, Resource: "leases", Namespace: "kube-node-lease", Name: "n1"}, ""},
		{"create own lease", auth.AdmissionRequest{Operation: create, APIGroup: coord, Resource: "leases", Namespace: "kube-node-lease", Object: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}}, ""},
		{"create other lease", auth.AdmissionRequest{Operation: create, APIGroup: coord, Resource: "leases", Namespace: "kube-node-lease", Object: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}},
			`leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node`},
		{"other lease", auth.AdmissionRequest{Operation: update, APIGroup: coord, Resource: "leases", Namespace: "kube-node-lease", Name: "n2"},
			"can only access node lease with the same name as the requesting node"},
		{"lease elsewhere", auth.AdmissionRequest{Operation: update, APIGroup: coord, Resource: "leases", Namespace: "kube-system", Name: "n1"},
			`can only access leases in the "kube-node-lease" system namespace`},
		{"create own csinode", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csinodes", Object: &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}}, ""},
		{"create other csinode", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csinodes", Object: &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}},
			`csinodes.storage.k8s.io "n2" is forbidden: can only access CSINode with the same name as the requesting node`},
		{"delete other csinode", auth.AdmissionRequest{Operation: del, APIGroup: storage, Resource: "csinodes", Name: "n2"}, "can only access CSINode with the same name as the requesting node"},
		// Claims, tokens, slices, CSRs.
		{"pvc capacity", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Subresource: "status", Namespace: "default", Name: "data", Old: pvc, Object: pvcGrown}, ""},
		{"pvc labels through status", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Subresource: "status", Namespace: "default", Name: "data", Old: pvc, Object: pvcRelabeled},
			`node "n1" is not allowed to update fields other than status.quantity and status.conditions`},
		{"pvc spec", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: pvc, Object: pvc},
			`persistentvolumeclaims "data" is forbidden: may only update PVC status`},
		{"pvc handed back by its selected node", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: selected("n1"), Object: unselected}, ""},
		{"pvc of another selected node", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: selected("n2"), Object: unselected},
			"may only update PVC status"},
		{"pvc handed back and relabeled", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: selected("n1"), Object: unselectedRelabeled},
			"may only update PVC status"},
		{"pvc selected node moved", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: selected("n1"), Object: selected("n2")},
			"may only update PVC status"},
		{"pvc deleted by its selected node", auth.AdmissionRequest{Operation: del, Resource: "persistentvolumeclaims", Namespace: "default", Name: "data", Old: selected("n1")},
			"may only update PVC status"},
		{"create own local-path volume", auth.AdmissionRequest{Operation: create, Resource: "persistentvolumes", Object: ownPV}, ""},
		{"grow own local-path volume", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumes", Name: "pvc-1", Old: ownPV, Object: ownPV}, ""},
		{"delete own local-path volume", auth.AdmissionRequest{Operation: del, Resource: "persistentvolumes", Name: "pvc-1", Old: ownPV}, ""},
		{"create another node's volume", auth.AdmissionRequest{Operation: create, Resource: "persistentvolumes", Object: otherPV},
			`persistentvolumes "pvc-1" is forbidden: node "n1" may only write kemudi.io/local-path volumes whose node affinity names its hostname "n1" alone`},
		{"create a volume for two nodes", auth.AdmissionRequest{Operation: create, Resource: "persistentvolumes", Object: localPV("kemudi.io/local-path", "n1", "n2")}, "may only write kemudi.io/local-path volumes"},
		{"create a volume for any node", auth.AdmissionRequest{Operation: create, Resource: "persistentvolumes", Object: localPV("kemudi.io/local-path")}, "may only write kemudi.io/local-path volumes"},
		{"create another provisioner's volume", auth.AdmissionRequest{Operation: create, Resource: "persistentvolumes", Object: localPV("example.com/nfs", "n1")}, "may only write kemudi.io/local-path volumes"},
		{"move a volume to another node", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumes", Name: "pvc-1", Old: ownPV, Object: otherPV}, "may only write kemudi.io/local-path volumes"},
		{"take another node's volume", auth.AdmissionRequest{Operation: update, Resource: "persistentvolumes", Name: "pvc-1", Old: otherPV, Object: ownPV}, "may only write kemudi.io/local-path volumes"},
		{"delete another node's volume", auth.AdmissionRequest{Operation: del, Resource: "persistentvolumes", Name: "pvc-1", Old: otherPV}, "may only write kemudi.io/local-path volumes"},
		{"publish own capacity", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Object: ownCap}, ""},
		{"update own capacity", auth.AdmissionRequest{Operation: update, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Name: "c", Old: ownCap, Object: ownCap}, ""},
		{"delete own capacity", auth.AdmissionRequest{Operation: del, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Name: "c", Old: ownCap}, ""},
		{"publish another node's capacity", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Object: otherCap},
			`csistoragecapacities.storage.k8s.io "csisc-" is forbidden: node "n1" may only write CSIStorageCapacities whose nodeTopology selects kubernetes.io/hostname=n1 alone`},
		{"publish capacity for more than the node", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Object: wideCap},
			"may only write CSIStorageCapacities"},
		{"publish capacity for every node", auth.AdmissionRequest{Operation: create, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Object: published(nil)},
			"may only write CSIStorageCapacities"},
		{"update another node's capacity", auth.AdmissionRequest{Operation: update, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Name: "c", Old: otherCap, Object: otherCap},
			"may only write CSIStorageCapacities"},
		{"delete another node's capacity", auth.AdmissionRequest{Operation: del, APIGroup: storage, Resource: "csistoragecapacities", Namespace: "kube-system", Name: "c", Old: otherCap},
			"may only write CSIStorageCapacities"},
		{"token for own pod", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(own))}, ""},
		{"token for an audience the pod uses", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(etcdClient), "etcd")}, ""},
		{"token for an audience another pod uses", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(own), "etcd")},
			`system:node:n1 is not authorized to request tokens for audience "etcd"`},
		{"token for an audience the node may request", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(own), "vault")}, ""},
		{"token for another audience", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(own), "bank")},
			`serviceaccounts "web" is forbidden: system:node:n1 is not authorized to request tokens for audience "bank"`},
		{"token for two audiences", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(own), "", "vault")},
			"node may only request 0 or 1 audiences"},
		{"token for other's pod", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(podRef(other))},
			`serviceaccounts "web" is forbidden: node requested token bound to a pod scheduled on a different node`},
		{"token unbound", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web", Object: token(nil)},
			"node requested token not bound to a pod"},
		{"token without uid", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web",
			Object: token(&authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "mine"})}, "node requested token with a pod binding without a uid"},
		{"token for a recreated pod", auth.AdmissionRequest{Operation: create, Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "web",
			Object: token(&authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "mine", UID: "before"})}, "the UID in the bound object reference (before) does not match the UID in record"},
		{"own slice", auth.AdmissionRequest{Operation: create, APIGroup: dra, Resource: "resourceslices", Object: slice("n1")}, ""},
		{"other's slice", auth.AdmissionRequest{Operation: create, APIGroup: dra, Resource: "resourceslices", Object: slice("n2")},
			`resourceslices.resource.k8s.io "s" is forbidden: can only create ResourceSlice with the same NodeName as the requesting node`},
		{"delete other's slice", auth.AdmissionRequest{Operation: del, APIGroup: dra, Resource: "resourceslices", Name: "s", Old: slice("n2")},
			"can only delete ResourceSlice with the same NodeName as the requesting node"},
		{"own csr", auth.AdmissionRequest{Operation: create, APIGroup: certs, Resource: "certificatesigningrequests", Object: csr("system:node:n1", certificatesv1.KubeletServingSignerName)}, ""},
		{"csr for another node", auth.AdmissionRequest{Operation: create, APIGroup: certs, Resource: "certificatesigningrequests", Object: csr("system:node:n2", certificatesv1.KubeAPIServerClientKubeletSignerName)},
			`certificatesigningrequests.certificates.k8s.io "csr" is forbidden: can only create a node CSR with CN=system:node:n1`},
		{"csr of another signer", auth.AdmissionRequest{Operation: create, APIGroup: certs, Resource: "certificatesigningrequests", Object: csr("anything", "example.com/signer")}, ""},
	}
	p := Restriction{
		Pods:  getter[*corev1.Pod]{"default/mine": own, "default/theirs": other, "default/etcd-client": etcdClient},
		Nodes: getter[*corev1.Node]{"/n1": n1},
		// An RBAC rule as a cluster admin would give: tokens for "vault".
		Authorizer: authorizerFunc(func(a auth.Attributes) bool {
			return a.Verb == "request-serviceaccounts-token-audience" && a.Resource == "vault" && a.Name == "web"
		}),
	}
	for _, tt := range tests {
		r := tt.r
		r.User = nodeUser("n1")
		err := p.Admit(context.Background(), &r)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v\nwant %q", tt.name, err, tt.want)
		case tt.want != "" && !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err):
			t.Errorf("%s: %v is not a 403", tt.name, err)
		}
	}
	// Only nodes are restricted; a node without a name is refused.
	r := auth.AdmissionRequest{User: &auth.User{Name: "admin", Groups: []string{"system:masters"}}, Operation: update, Resource: "nodes", Name: "n2"}
	if err := p.Admit(context.Background(), &r); err != nil {
		t.Errorf("admin refused: %v", err)
	}
	r = auth.AdmissionRequest{User: nodeUser(""), Operation: update, Resource: "configmaps", Name: "x"}
	if err := p.Admit(context.Background(), &r); err == nil || !strings.Contains(err.Error(), `could not determine node from user "system:node:"`) {
		t.Errorf("nameless node: %v", err)
	}
}

type authorizerFunc func(auth.Attributes) bool

func (f authorizerFunc) Authorize(_ context.Context, a auth.Attributes) (auth.Decision, string, error) {
	if f(a) {
		return auth.Allow, "", nil
	}
	return auth.NoOpinion, "", nil
}
