package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/auth"
)

// admitPod admits a node's creates of its own mirror pods and deletes of
// its own pods; it may not update a pod but through its status.
func (p Restriction) admitPod(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	switch r.Operation {
	case auth.Create:
		return p.admitMirrorPod(ctx, node, r)
	case auth.Delete:
		existing, err := p.existingPod(ctx, r)
		if err != nil {
			return err
		}
		if existing.Spec.NodeName != node {
			return forbidden(r, fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", node))
		}
		return nil
	}
	return forbidden(r, fmt.Errorf("unexpected operation %q, node %q can only create and delete mirror pods", r.Operation, node))
}

// existingPod is the pod a delete removes: the request's old object, or
// the stored pod. A pod that is gone is upstream's NotFound.
func (p Restriction) existingPod(ctx context.Context, r *auth.AdmissionRequest) (*corev1.Pod, error) {
	if old, ok := r.Old.(*corev1.Pod); ok {
		return old, nil
	}
	return p.getPod(ctx, r, r.Namespace, r.Name)
}

func (p Restriction) getPod(ctx context.Context, r *auth.AdmissionRequest, namespace, name string) (*corev1.Pod, error) {
	if p.Pods == nil {
		return nil, forbidden(r, errors.New("no pod lister"))
	}
	pod, err := p.Pods.Get(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, forbidden(r, err)
	}
	return pod, nil
}

// admitMirrorPod admits a mirror pod bound to the node and owned by it
// (its Node's UID) that refers to no other API object.
func (p Restriction) admitMirrorPod(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return forbidden(r, fmt.Errorf("pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, node))
	}
	if pod.Spec.NodeName != node {
		return forbidden(r, fmt.Errorf("node %q can only create pods with spec.nodeName set to itself", node))
	}
	switch len(pod.OwnerReferences) {
	case 0:
		return forbidden(r, fmt.Errorf("node %q can only create pods with an owner reference set to itself", node))
	case 1:
	default:
		return forbidden(r, fmt.Errorf("node %q can only create pods with a single owner reference set to itself", node))
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != corev1.SchemeGroupVersion.String() || owner.Kind != "Node" || owner.Name != node {
		return forbidden(r, fmt.Errorf("node %q can only create pods with an owner reference set to itself", node))
	}
	if owner.Controller == nil || !*owner.Controller {
		return forbidden(r, fmt.Errorf("node %q can only create pods with a controller owner reference set to itself", node))
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return forbidden(r, fmt.Errorf("node %q must not set blockOwnerDeletion on an owner reference", node))
	}
	if p.Nodes == nil {
		return forbidden(r, fmt.Errorf("error looking up node %s to verify uid: no node lister", node))
	}
	n, err := p.Nodes.Get(ctx, "", node)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return forbidden(r, fmt.Errorf("error looking up node %s to verify uid: %v", node, err))
	}
	if owner.UID != n.UID {
		return forbidden(r, fmt.Errorf("node %s UID mismatch: expected %s got %s", node, owner.UID, n.UID))
	}
	refers, what, err := refersToAPIObjects(pod)
	if err != nil {
		return forbidden(r, fmt.Errorf("error checking mirror pod for API references: %w", err))
	}
	if refers {
		return forbidden(r, fmt.Errorf("node %q can not create pods that reference %s", node, what))
	}
	return nil
}

// admitPodStatus admits a status update of the node's own pod that keeps
// its labels and the claims it was given.
func admitPodStatus(node string, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Update {
		return forbidden(r, fmt.Errorf("unexpected operation %q", r.Operation))
	}
	old, ok := r.Old.(*corev1.Pod)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Old))
	}
	if old.Spec.NodeName != node {
		return forbidden(r, fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
	}
	pod, ok := r.Object.(*corev1.Pod)
	if !ok {
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	switch {
	case !labels.Equals(old.Labels, pod.Labels):
		return forbidden(r, fmt.Errorf("node %q cannot update labels through pod status", node))
	case !claimStatusesEqual(old.Status.ResourceClaimStatuses, pod.Status.ResourceClaimStatuses):
		return forbidden(r, fmt.Errorf("node %q cannot update resource claim statues", node))
	case !equality.Semantic.DeepEqual(old.Status.ExtendedResourceClaimStatus, pod.Status.ExtendedResourceClaimStatus):
		return forbidden(r, fmt.Errorf("node %q cannot update extended resource claim status", node))
	case !equality.Semantic.DeepEqual(old.Status.NodeAllocatableResourceClaimStatuses, pod.Status.NodeAllocatableResourceClaimStatuses):
		return forbidden(r, fmt.Errorf("node %q cannot update node allocatable resource claim statuses", node))
	}
	return nil
}

// claimStatusesEqual compares the claims named for a pod's claims, in order.
func claimStatusesEqual(a, b []corev1.PodResourceClaimStatus) bool {
	return slices.EqualFunc(a, b, func(x, y corev1.PodResourceClaimStatus) bool {
		return x.Name == y.Name && (x.ResourceClaimName == nil) == (y.ResourceClaimName == nil) &&
			(x.ResourceClaimName == nil || *x.ResourceClaimName == *y.ResourceClaimName)
	})
}

// admitEviction admits a node's eviction of a pod bound to it.
func (p Restriction) admitEviction(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	if r.Operation != auth.Create {
		return forbidden(r, fmt.Errorf("unexpected operation %s", r.Operation))
	}
	var evictionName string
	switch e := r.Object.(type) {
	case *policyv1.Eviction:
		evictionName = e.Name
	case *policyv1beta1.Eviction:
		evictionName = e.Name
	default:
		return forbidden(r, fmt.Errorf("unexpected type %T", r.Object))
	}
	// The pod the request addresses, not the one the body names.
	name := r.Name
	if name == "" {
		if evictionName == "" {
			return forbidden(r, errors.New("could not determine pod from request data"))
		}
		name = evictionName
	}
	pod, err := p.getPod(ctx, r, r.Namespace, name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != node {
		return forbidden(r, fmt.Errorf("node %s can only evict pods with spec.nodeName set to itself", node))
	}
	return nil
}

// refersToAPIObjects reports whether a pod uses an API object (an
// account, a secret, a config map, a claim, ...), naming the first kind,
// as upstream's HasAPIObjectReference: a mirror pod may use none.
func refersToAPIObjects(pod *corev1.Pod) (bool, string, error) {
	if pod.Spec.ServiceAccountName != "" {
		return true, "serviceaccounts", nil
	}
	refs := podRefs(withoutMirror(pod))
	for _, kind := range []string{KindSecret, KindConfigMap} {
		for _, r := range refs {
			if r.kind == kind {
				return true, kind, nil
			}
		}
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		return true, "resourceclaims", nil
	}
	for _, v := range pod.Spec.Volumes {
		if what, err := volumeAPIReference(v); what != "" || err != nil {
			return true, what, err
		}
	}
	return false, "", nil
}

// StaticPodReference names the first kind of API object a static pod
// uses ("" when none), which upstream's kubelet refuses in a manifest
// ("static pods may not reference ...") as NodeRestriction refuses its
// mirror pod.
func StaticPodReference(pod *corev1.Pod) (string, error) {
	_, what, err := refersToAPIObjects(pod)
	return what, err
}

// withoutMirror is pod without its mirror annotation, so that podRefs
// lists what it uses.
func withoutMirror(pod *corev1.Pod) *corev1.Pod {
	if _, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; !ok {
		return pod
	}
	p := *pod
	p.Annotations = make(map[string]string, len(pod.Annotations))
	for k, v := range pod.Annotations {
		if k != corev1.MirrorPodAnnotationKey {
			p.Annotations[k] = v
		}
	}
	return &p
}

// volumeAPIReference names what API objects a volume uses, "" for none.
func volumeAPIReference(v corev1.Volume) (string, error) {
	switch {
	case v.AWSElasticBlockStore != nil, v.AzureDisk != nil, v.CephFS != nil, v.Cinder != nil,
		v.DownwardAPI != nil, v.EmptyDir != nil, v.FC != nil, v.FlexVolume != nil, v.Flocker != nil, v.GCEPersistentDisk != nil,
		v.GitRepo != nil, v.HostPath != nil, v.Image != nil, v.ISCSI != nil, v.NFS != nil, v.PhotonPersistentDisk != nil,
		v.PortworxVolume != nil, v.Quobyte != nil, v.RBD != nil, v.ScaleIO != nil, v.StorageOS != nil, v.VsphereVolume != nil:
		return "", nil
	case v.ConfigMap != nil:
		return "configmaps (via configmap volumes)", nil
	case v.Secret != nil:
		return "secrets (via secret volumes)", nil
	case v.CSI != nil:
		return "csidrivers (via CSI volumes)", nil
	case v.Glusterfs != nil:
		return "endpoints (via glusterFS volumes)", nil
	case v.PersistentVolumeClaim != nil:
		return "persistentvolumeclaims", nil
	case v.Ephemeral != nil:
		return "persistentvolumeclaims (via ephemeral volumes)", nil
	case v.AzureFile != nil:
		return "secrets (via azureFile volumes)", nil
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			switch {
			case s.ConfigMap != nil:
				return "configmaps (via projected volumes)", nil
			case s.Secret != nil:
				return "secrets (via projected volumes)", nil
			case s.ServiceAccountToken != nil:
				return "serviceaccounts (via projected volumes)", nil
			case s.ClusterTrustBundle != nil:
				return "clustertrustbundles", nil
			case s.PodCertificate != nil:
				return "podcertificates", nil
			case s.DownwardAPI != nil:
			default:
				return "", fmt.Errorf("unknown source for projected volume %q", v.Name)
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("unknown volume type for volume  %q", v.Name)
}
