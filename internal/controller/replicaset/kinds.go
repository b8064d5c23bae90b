package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// setKind is what differs between ReplicaSets and ReplicationControllers.
// The controller works on ReplicaSets; a ReplicationController is
// converted to one on the way in (its selector becomes matchLabels) and
// its status converted back on the way out, as upstream's conversion
// adapters do.
type setKind interface {
	gvk() schema.GroupVersionKind
	informer() cache.SharedIndexInformer
	// get returns the set from the cache; the caller must not modify it.
	get(namespace, name string) (*appsv1.ReplicaSet, error)
	// list returns the namespace's sets from the cache.
	list(namespace string) ([]*appsv1.ReplicaSet, error)
	// toSet converts an informer object (nil if it is not of the kind).
	toSet(obj interface{}) *appsv1.ReplicaSet
	// live reads the set from the API, not the cache.
	live(ctx context.Context, namespace, name string) (metav1.Object, error)
	// updateStatus writes rs.Status; it returns the stored set.
	updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error)
	// eventObject is the object events about rs are recorded on.
	eventObject(rs *appsv1.ReplicaSet) runtime.Object
	// countsTerminating says whether the kind's status has
	// terminatingReplicas (ReplicationControllers' does not).
	countsTerminating() bool
}

type replicaSets struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister appslisters.ReplicaSetLister
}

func (replicaSets) gvk() schema.GroupVersionKind {
	return appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
}
func (k replicaSets) informer() cache.SharedIndexInformer { return k.inf }
func (k replicaSets) get(ns, name string) (*appsv1.ReplicaSet, error) {
	return k.lister.ReplicaSets(ns).Get(name)
}
func (k replicaSets) list(ns string) ([]*appsv1.ReplicaSet, error) {
	return k.lister.ReplicaSets(ns).List(labels.Everything())
}
func (replicaSets) toSet(obj interface{}) *appsv1.ReplicaSet {
	rs, _ := obj.(*appsv1.ReplicaSet)
	return rs
}
func (k replicaSets) live(ctx context.Context, ns, name string) (metav1.Object, error) {
	return k.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
}
func (k replicaSets) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	return k.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
}
func (replicaSets) eventObject(rs *appsv1.ReplicaSet) runtime.Object { return rs }
func (replicaSets) countsTerminating() bool                          { return true }

type replicationControllers struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister corelisters.ReplicationControllerLister
}

func (replicationControllers) gvk() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind("ReplicationController")
}
func (k replicationControllers) informer() cache.SharedIndexInformer { return k.inf }
func (k replicationControllers) get(ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := k.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return fromRC(rc), nil
}
func (k replicationControllers) list(ns string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := k.lister.ReplicationControllers(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, fromRC(rc))
	}
	return out, nil
}
func (replicationControllers) toSet(obj interface{}) *appsv1.ReplicaSet {
	if rc, ok := obj.(*corev1.ReplicationController); ok {
		return fromRC(rc)
	}
	return nil
}
func (k replicationControllers) live(ctx context.Context, ns, name string) (metav1.Object, error) {
	return k.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
}
func (k replicationControllers) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	rc, err := k.client.CoreV1().ReplicationControllers(rs.Namespace).UpdateStatus(ctx, toRC(rs), metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return fromRC(rc), nil
}
func (replicationControllers) countsTerminating() bool { return false }
func (replicationControllers) eventObject(rs *appsv1.ReplicaSet) runtime.Object {
	return &corev1.ReplicationController{ObjectMeta: rs.ObjectMeta}
}

// fromRC converts a ReplicationController to the ReplicaSet the
// controller works on. Metadata is shared, not copied: the result is as
// read-only as the cached controller.
func fromRC(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: rc.ObjectMeta,
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        rc.Spec.Replicas,
			MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: rc.Spec.Selector},
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rc.Status.Replicas,
			FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas:        rc.Status.ReadyReplicas,
			AvailableReplicas:    rc.Status.AvailableReplicas,
			ObservedGeneration:   rc.Status.ObservedGeneration,
		},
	}
	if rs.Spec.Replicas == nil {
		one := int32(1)
		rs.Spec.Replicas = &one
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}

// toRC converts back; only metadata and status matter (it is used for
// status updates).
func toRC(rs *appsv1.ReplicaSet) *corev1.ReplicationController {
	template := rs.Spec.Template
	rc := &corev1.ReplicationController{
		ObjectMeta: rs.ObjectMeta,
		Spec: corev1.ReplicationControllerSpec{
			Replicas:        rs.Spec.Replicas,
			MinReadySeconds: rs.Spec.MinReadySeconds,
			Template:        &template,
		},
		Status: corev1.ReplicationControllerStatus{
			Replicas:             rs.Status.Replicas,
			FullyLabeledReplicas: rs.Status.FullyLabeledReplicas,
			ReadyReplicas:        rs.Status.ReadyReplicas,
			AvailableReplicas:    rs.Status.AvailableReplicas,
			ObservedGeneration:   rs.Status.ObservedGeneration,
		},
	}
	if rs.Spec.Selector != nil {
		rc.Spec.Selector = rs.Spec.Selector.MatchLabels
	}
	for _, c := range rs.Status.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rc
}

func keyOf(rs *appsv1.ReplicaSet) string { return rs.Namespace + "/" + rs.Name }

func splitKey(key string) (string, string, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return "", "", fmt.Errorf("bad key %q: %w", key, err)
	}
	return ns, name, nil
}
