package attachdetach

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/storage/ephemeral"

	"github.com/kemudi/kemudi/internal/controller"
)

// addIndexes indexes attachments by node and persistent volume, and
// pods by the claims they use ("namespace/claim").
func addIndexes(pods, attachments cache.SharedIndexInformer) error {
	for _, ix := range []struct {
		inf  cache.SharedIndexInformer
		name string
		fn   cache.IndexFunc
	}{
		{attachments, attachmentNodeIndex, byAttachment(func(va *storagev1.VolumeAttachment) string { return va.Spec.NodeName })},
		{attachments, attachmentPVIndex, byAttachment(func(va *storagev1.VolumeAttachment) string { return *va.Spec.Source.PersistentVolumeName })},
		{pods, podClaimIndex, podClaims},
	} {
		if _, ok := ix.inf.GetIndexer().GetIndexers()[ix.name]; ok {
			continue
		}
		if err := ix.inf.AddIndexers(cache.Indexers{ix.name: ix.fn}); err != nil {
			return fmt.Errorf("add index %s: %w", ix.name, err)
		}
	}
	return nil
}

// byAttachment indexes the attachments of persistent volumes by key.
func byAttachment(key func(*storagev1.VolumeAttachment) string) cache.IndexFunc {
	return func(obj interface{}) ([]string, error) {
		if va, ok := obj.(*storagev1.VolumeAttachment); ok && va.Spec.Source.PersistentVolumeName != nil {
			return []string{key(va)}, nil
		}
		return nil, nil
	}
}

// podClaims are the claims a pod uses, ephemeral volumes' included.
func podClaims(obj interface{}) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, pod.Namespace+"/"+v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Namespace+"/"+ephemeral.VolumeClaimName(pod, &v))
		}
	}
	return out, nil
}

// watch enqueues the nodes each change may concern.
func (ad *Controller) watch(pods, nodes, claims, volumes, drivers, attachments cache.SharedIndexInformer) error {
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{pods, onChange(func(p *corev1.Pod) { ad.enqueue(p.Spec.NodeName) })},
		{nodes, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj interface{}) { ad.loop.Enqueue(obj) },
			UpdateFunc: func(old, cur interface{}) {
				if o, n := old.(*corev1.Node), cur.(*corev1.Node); nodeChanged(o, n) {
					ad.loop.Enqueue(n)
				}
			},
			DeleteFunc: func(obj interface{}) { ad.loop.Enqueue(obj) },
		}},
		{claims, onChange(func(c *corev1.PersistentVolumeClaim) { ad.enqueueUsers(c.Namespace + "/" + c.Name) })},
		{volumes, onChange(func(v *corev1.PersistentVolume) {
			if r := v.Spec.ClaimRef; r != nil {
				ad.enqueueUsers(r.Namespace + "/" + r.Name)
			}
		})},
		{drivers, onChange(func(*storagev1.CSIDriver) { ad.enqueueAll() })},
		{attachments, onChange(func(va *storagev1.VolumeAttachment) {
			ad.enqueue(va.Spec.NodeName)
			// A volume only one node may attach waits on this one.
			if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
				for _, p := range ad.podsOfVolume(*pv) {
					ad.enqueue(p.Spec.NodeName)
				}
			}
		})},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}
	return nil
}

// onChange calls f with the object of every add, update (old and new)
// and delete.
func onChange[T any](f func(T)) cache.ResourceEventHandlerFuncs {
	call := func(obj interface{}) {
		if t, ok := controller.DeletedObject[T](obj); ok {
			f(t)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    call,
		UpdateFunc: func(old, cur interface{}) { call(old); call(cur) },
		DeleteFunc: call,
	}
}

// nodeChanged: what Decide reads of a node changed (not heartbeats).
func nodeChanged(o, n *corev1.Node) bool {
	return Managed(o) != Managed(n) || nodeReady(o) != nodeReady(n) ||
		!equality.Semantic.DeepEqual(o.Status.VolumesInUse, n.Status.VolumesInUse) ||
		!equality.Semantic.DeepEqual(o.Status.VolumesAttached, n.Status.VolumesAttached) ||
		!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints)
}

func (ad *Controller) enqueue(node string) {
	if node != "" {
		ad.loop.Queue.Add(node)
	}
}

// enqueueUsers syncs the nodes of the pods that use a claim.
func (ad *Controller) enqueueUsers(claim string) {
	objs, _ := ad.pods.ByIndex(podClaimIndex, claim)
	for _, o := range objs {
		ad.enqueue(o.(*corev1.Pod).Spec.NodeName)
	}
}

// podsOfVolume are the pods that use a persistent volume's claim.
func (ad *Controller) podsOfVolume(pvName string) []*corev1.Pod {
	pv := ad.PersistentVolume(pvName)
	if pv == nil || pv.Spec.ClaimRef == nil {
		return nil
	}
	objs, _ := ad.pods.ByIndex(podClaimIndex, pv.Spec.ClaimRef.Namespace+"/"+pv.Spec.ClaimRef.Name)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}
