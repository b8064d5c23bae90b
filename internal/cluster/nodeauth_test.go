package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestNodeAuthorizer: two nodes' credentials against each other's
// objects. Each reads the secrets, claims, volumes (and their secrets),
// volume attachments and CSINode of its own pods and node only, lists
// only its own pods, updates only its own pods' status and its own Node,
// evicts and mints tokens only for its own pods, and may not give itself
// a node-restriction.kubernetes.io/ label; refusals are upstream's 403s,
// and access follows the objects as they change.
func TestNodeAuthorizer(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	admin := s.Client
	ids := map[string]*clustertest.Identity{
		"n1": s.UserIdentity("system:node:n1", "system:nodes"),
		"n2": s.UserIdentity("system:node:n2", "system:nodes"),
	}
	n1, n2 := ids["n1"], ids["n2"]
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// forbidden checks that err is upstream's 403 with message want.
	forbidden := func(what string, err error, want string) {
		t.Helper()
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("%s: %v\nwant 403 %s", what, err, want)
		}
	}
	// eventually waits, with a deadline, for the graph to follow a change.
	eventually := func(what string, cond func() error) {
		t.Helper()
		var last error
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			last = cond()
			return last == nil, nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, last)
		}
	}

	// Each node registers itself first (pods bound to missing nodes are
	// the pod GC's).
	for name, id := range ids {
		must(id.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
	}
	// clustertest runs no controller manager to make the pods' account
	// (whose token volume ServiceAccount admission adds to the pods).
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, name := range []string{"n1-secret", "n2-secret", "csi-n1"} {
		must(admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}))
	}
	// A CSI volume bound to n1's claim, its node publish secret csi-n1.
	for _, n := range []string{"n1", "n2"} {
		must(admin.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data-" + n},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(""),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}, metav1.CreateOptions{}))
	}
	must(admin.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-data"},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			ClaimRef:    &corev1.ObjectReference{Namespace: "default", Name: "data-n1"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: "hostpath.csi.k8s.io", VolumeHandle: "vol-1",
				NodePublishSecretRef: &corev1.SecretReference{Namespace: "default", Name: "csi-n1"},
			}},
		},
	}, metav1.CreateOptions{}))
	for _, n := range []string{"n1", "n2"} {
		must(admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-" + n},
			Spec: corev1.PodSpec{
				NodeName:   n,
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes: []corev1.Volume{
					{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: n + "-secret"}}},
					{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-" + n}}},
				},
			},
		}, metav1.CreateOptions{}))
	}
	must(admin.StorageV1().VolumeAttachments().Create(ctx, &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: "va-n1"},
		Spec: storagev1.VolumeAttachmentSpec{Attacher: "hostpath.csi.k8s.io", NodeName: "n1",
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-data")}},
	}, metav1.CreateOptions{}))

	// The graph follows the objects a moment after they are written.
	eventually("n1 reads the volume bound to its pod's claim", func() error {
		_, err := n1.Client.CoreV1().PersistentVolumes().Get(ctx, "pv-data", metav1.GetOptions{})
		return err
	})
	eventually("n1 reads its volume attachment", func() error {
		_, err := n1.Client.StorageV1().VolumeAttachments().Get(ctx, "va-n1", metav1.GetOptions{})
		return err
	})
	reads := []struct {
		what string
		get  func(*clustertest.Identity) error
		n1OK bool
		n2   string // n2's 403
	}{
		{"n1's pod's secret", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().Secrets("default").Get(ctx, "n1-secret", metav1.GetOptions{})
			return err
		}, true, `secrets "n1-secret" is forbidden: User "system:node:n2" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`},
		{"n1's claim", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-n1", metav1.GetOptions{})
			return err
		}, true, `persistentvolumeclaims "data-n1" is forbidden: User "system:node:n2" cannot get resource "persistentvolumeclaims" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`},
		{"the volume bound to n1's claim", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().PersistentVolumes().Get(ctx, "pv-data", metav1.GetOptions{})
			return err
		}, true, `persistentvolumes "pv-data" is forbidden: User "system:node:n2" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'n2' and this object`},
		{"the volume's secret", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().Secrets("default").Get(ctx, "csi-n1", metav1.GetOptions{})
			return err
		}, true, `secrets "csi-n1" is forbidden: User "system:node:n2" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`},
		{"n1's volume attachment", func(id *clustertest.Identity) error {
			_, err := id.Client.StorageV1().VolumeAttachments().Get(ctx, "va-n1", metav1.GetOptions{})
			return err
		}, true, `volumeattachments.storage.k8s.io "va-n1" is forbidden: User "system:node:n2" cannot get resource "volumeattachments" in API group "storage.k8s.io" at the cluster scope: no relationship found between node 'n2' and this object`},
		{"n1's pod", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{})
			return err
		}, true, `pods "pod-n1" is forbidden: User "system:node:n2" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'n2' and this object`},
		{"n1's pods by field selector", func(id *clustertest.Identity) error {
			_, err := id.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "n1").String()})
			return err
		}, true, `pods is forbidden: User "system:node:n2" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector`},
	}
	for _, r := range reads {
		if err := r.get(n1); err != nil {
			t.Errorf("n1 reading %s: %v", r.what, err)
		}
		forbidden("n2 reading "+r.what, r.get(n2), r.n2)
	}
	_, err := n1.Client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	forbidden("n1 listing secrets", err, `secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found`)
	_, err = n1.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	forbidden("n1 listing all pods", err, `pods is forbidden: User "system:node:n1" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector`)

	// An access review sees the field selector as the request would.
	for _, tc := range []struct {
		sel   *authorizationv1.FieldSelectorAttributes
		allow bool
	}{
		{&authorizationv1.FieldSelectorAttributes{RawSelector: "spec.nodeName=n1"}, true},
		{&authorizationv1.FieldSelectorAttributes{Requirements: []metav1.FieldSelectorRequirement{{Key: "spec.nodeName", Operator: metav1.FieldSelectorOpIn, Values: []string{"n1"}}}}, true},
		{&authorizationv1.FieldSelectorAttributes{RawSelector: "spec.nodeName=n2"}, false},
		{nil, false},
	} {
		sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods", FieldSelector: tc.sel},
		}}, metav1.CreateOptions{})
		must(sar, err)
		if sar.Status.Allowed != tc.allow {
			t.Errorf("access review of n1 listing pods with %+v: %+v, want allowed %v", tc.sel, sar.Status, tc.allow)
		}
		if !tc.allow && sar.Status.Reason != "can only list/watch pods with spec.nodeName field selector" {
			t.Errorf("access review's reason %q", sar.Status.Reason)
		}
	}

	// CSINodes: each its own.
	for name, id := range ids {
		must(id.Client.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
	}
	_, err = n1.Client.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "n3"}}, metav1.CreateOptions{})
	forbidden("n1 creating n3's CSINode", err, `csinodes.storage.k8s.io "n3" is forbidden: can only access CSINode with the same name as the requesting node`)
	_, err = n2.Client.StorageV1().CSINodes().Get(ctx, "n1", metav1.GetOptions{})
	forbidden("n2 reading n1's CSINode", err, `csinodes.storage.k8s.io "n1" is forbidden: User "system:node:n2" cannot get resource "csinodes" in API group "storage.k8s.io" at the cluster scope: can only access CSINode with the same name as the requesting node`)
	forbidden("n2 deleting n1's CSINode", n2.Client.StorageV1().CSINodes().Delete(ctx, "n1", metav1.DeleteOptions{}),
		`csinodes.storage.k8s.io "n1" is forbidden: User "system:node:n2" cannot delete resource "csinodes" in API group "storage.k8s.io" at the cluster scope: can only access CSINode with the same name as the requesting node`)
	if _, err := n1.Client.StorageV1().CSINodes().Get(ctx, "n1", metav1.GetOptions{}); err != nil {
		t.Errorf("n1 reading its CSINode: %v", err)
	}

	// Status of another node's pod: refused by NodeRestriction, nothing stored.
	theirs, err := admin.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{})
	must(theirs, err)
	theirs.Status.Message = "hijacked"
	_, err = n2.Client.CoreV1().Pods("default").UpdateStatus(ctx, theirs, metav1.UpdateOptions{})
	forbidden("n2 updating n1's pod status", err, `pods "pod-n1" is forbidden: node "n2" can only update pod status for pods with spec.nodeName set to itself`)
	mine, err := n2.Client.CoreV1().Pods("default").Get(ctx, "pod-n2", metav1.GetOptions{})
	must(mine, err)
	mine.Status.Message = "fine"
	if _, err := n2.Client.CoreV1().Pods("default").UpdateStatus(ctx, mine, metav1.UpdateOptions{}); err != nil {
		t.Errorf("n2 updating its own pod's status: %v", err)
	}
	forbidden("n2 deleting n1's pod", n2.Client.CoreV1().Pods("default").Delete(ctx, "pod-n1", metav1.DeleteOptions{}),
		`pods "pod-n1" is forbidden: node "n2" can only delete pods with spec.nodeName set to itself`)

	// Evictions: n2 may not evict n1's pod; n1 may.
	evict := func(id *clustertest.Identity, pod string) error {
		return id.Client.CoreV1().Pods("default").EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "default"},
			DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}})
	}
	forbidden("n2 evicting n1's pod", evict(n2, "pod-n1"), `pods "pod-n1" is forbidden: node n2 can only evict pods with spec.nodeName set to itself`)
	if err := evict(n2, "no-such-pod"); !apierrors.IsNotFound(err) {
		t.Errorf("n2 evicting a pod that does not exist: %v, want 404", err)
	}
	if p, _ := admin.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{}); p == nil || p.Status.Message == "hijacked" || p.DeletionTimestamp != nil {
		t.Errorf("n1's pod changed: %+v", p)
	}

	// Tokens: only bound to the node's own pods.
	token := func(id *clustertest.Identity, pod *corev1.Pod, audiences ...string) error {
		_, err := id.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences:      audiences,
			BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
		return err
	}
	ownPod, err := admin.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{})
	must(ownPod, err)
	if err := token(n1, ownPod); err != nil {
		t.Errorf("n1 requesting a token for its pod's account: %v", err)
	}
	forbidden("n1 requesting a token for an audience its pod does not use", token(n1, ownPod, "vault"),
		`serviceaccounts "default" is forbidden: system:node:n1 is not authorized to request tokens for audience "vault"`)
	forbidden("n2 requesting a token bound to n1's pod", token(n2, ownPod), `serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node`)

	// Nodes: each its own, without restricted labels.
	other, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	must(other, err)
	other.Labels = map[string]string{"x": "y"}
	_, err = n2.Client.CoreV1().Nodes().Update(ctx, other, metav1.UpdateOptions{})
	forbidden("n2 changing node n1", err, `nodes "n1" is forbidden: node "n2" is not allowed to modify node "n1"`)
	self, err := n2.Client.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	must(self, err)
	self.Labels = map[string]string{"node-restriction.kubernetes.io/trusted": "true"}
	_, err = n2.Client.CoreV1().Nodes().Update(ctx, self, metav1.UpdateOptions{})
	forbidden("n2 labeling itself", err, `nodes "n2" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/trusted`)

	// The volume is rebound to n2's claim: the volume and its secret go
	// with it.
	pv, err := admin.CoreV1().PersistentVolumes().Get(ctx, "pv-data", metav1.GetOptions{})
	must(pv, err)
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data-n2"}
	must(admin.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}))
	eventually("n2 reads the volume rebound to its claim", func() error {
		_, err := n2.Client.CoreV1().Secrets("default").Get(ctx, "csi-n1", metav1.GetOptions{})
		return err
	})
	_, err = n1.Client.CoreV1().PersistentVolumes().Get(ctx, "pv-data", metav1.GetOptions{})
	forbidden("n1 reading the volume rebound away", err, `persistentvolumes "pv-data" is forbidden: User "system:node:n1" cannot get resource "persistentvolumes" in API group "" at the cluster scope: no relationship found between node 'n1' and this object`)

	// n1 evicts its own pod; with it goes n1's access to what it used.
	if err := evict(n1, "pod-n1"); err != nil {
		t.Fatalf("n1 evicting its own pod: %v", err)
	}
	eventually("n1 loses its evicted pod's secret", func() error {
		_, err := n1.Client.CoreV1().Secrets("default").Get(ctx, "n1-secret", metav1.GetOptions{})
		if apierrors.IsForbidden(err) && strings.HasSuffix(err.Error(), "no relationship found between node 'n1' and this object") {
			return nil
		}
		return err
	})
	_, err = n1.Client.CoreV1().Pods("default").Get(ctx, "pod-n1", metav1.GetOptions{})
	forbidden("n1 reading its evicted pod", err, `pods "pod-n1" is forbidden: User "system:node:n1" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'n1' and this object`)
}
