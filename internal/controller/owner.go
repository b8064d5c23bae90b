package controller

import (
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// OwnerHandler maps the events of owned objects (pods, ReplicaSets) to
// the controller that owns them, as upstream's ReplicaSet controller
// does: an object's controlling owner is enqueued; an orphan's possible
// adopters are enqueued when it appears or its labels change; an object
// being deleted counts as deleted at once; a pod that became ready is
// looked at again once minReadySeconds passed.
type OwnerHandler[O metav1.Object] struct {
	// Kind is the owner's kind; controller references to other kinds
	// are not this controller's.
	Kind string
	// Get returns an owner from its lister.
	Get func(namespace, name string) (O, error)
	// Adopters returns the owners whose selector matches an orphan
	// (nil: orphans are nobody's concern).
	Adopters func(obj metav1.Object) []O
	// Enqueue queues an owner's key.
	Enqueue func(owner O)
	// MinReadySeconds, when set, gives an owner's minReadySeconds, and
	// EnqueueAfter queues it after a delay: a pod that became ready is
	// available that much later, with no event to say so.
	MinReadySeconds func(owner O) int32
	EnqueueAfter    func(owner O, d time.Duration)
	// Created and Deleted, when set, observe an owner's expected
	// creations and deletions.
	Created func(owner O, obj metav1.Object)
	Deleted func(owner O, obj metav1.Object)
}

// Handlers are the informer handlers of the owned objects.
func (h *OwnerHandler[O]) Handlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{AddFunc: h.OnAdd, UpdateFunc: h.OnUpdate, DeleteFunc: h.OnDelete}
}

// OnAdd handles a new object.
func (h *OwnerHandler[O]) OnAdd(obj interface{}) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if o.GetDeletionTimestamp() != nil {
		// Seen first while being deleted (a restarted watch): not a
		// creation anyone waits for.
		h.OnDelete(obj)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
		if owner, ok := h.resolve(o.GetNamespace(), ref); ok {
			if h.Created != nil {
				h.Created(owner, o)
			}
			h.Enqueue(owner)
		}
		return
	}
	h.enqueueAdopters(o)
}

// OnUpdate handles a changed object.
func (h *OwnerHandler[O]) OnUpdate(oldObj, curObj interface{}) {
	old, ok1 := oldObj.(metav1.Object)
	cur, ok2 := curObj.(metav1.Object)
	if !ok1 || !ok2 || old.GetResourceVersion() == cur.GetResourceVersion() {
		// A resync: nothing changed.
		return
	}
	labelsChanged := !reflect.DeepEqual(old.GetLabels(), cur.GetLabels())
	if cur.GetDeletionTimestamp() != nil {
		// Gone as far as its owner is concerned as soon as its deletion
		// begins, not when the kubelet finally removes it; its old
		// labels may have pointed at another owner.
		h.OnDelete(curObj)
		if labelsChanged {
			h.OnDelete(oldObj)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		// The old owner lost it.
		if owner, ok := h.resolve(old.GetNamespace(), oldRef); ok {
			h.Enqueue(owner)
		}
	}
	if curRef != nil {
		owner, ok := h.resolve(cur.GetNamespace(), curRef)
		if !ok {
			return
		}
		h.Enqueue(owner)
		h.enqueueWhenAvailable(owner, oldObj, curObj)
		return
	}
	if labelsChanged || refChanged {
		h.enqueueAdopters(cur)
	}
}

// OnDelete handles a deleted object, or a tombstone of one.
func (h *OwnerHandler[O]) OnDelete(obj interface{}) {
	o, ok := DeletedObject[metav1.Object](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(o)
	if ref == nil {
		// An orphan's deletion changes no owner's count.
		return
	}
	owner, ok := h.resolve(o.GetNamespace(), ref)
	if !ok {
		return
	}
	if h.Deleted != nil {
		h.Deleted(owner, o)
	}
	h.Enqueue(owner)
}

func (h *OwnerHandler[O]) resolve(namespace string, ref *metav1.OwnerReference) (O, bool) {
	var zero O
	if ref.Kind != h.Kind {
		return zero, false
	}
	owner, err := h.Get(namespace, ref.Name)
	if err != nil || owner.GetUID() != ref.UID {
		return zero, false
	}
	return owner, true
}

func (h *OwnerHandler[O]) enqueueAdopters(o metav1.Object) {
	if h.Adopters == nil {
		return
	}
	for _, owner := range h.Adopters(o) {
		h.Enqueue(owner)
	}
}

// enqueueWhenAvailable looks at the owner again when a pod that just
// became ready becomes available.
func (h *OwnerHandler[O]) enqueueWhenAvailable(owner O, oldObj, curObj interface{}) {
	if h.MinReadySeconds == nil {
		return
	}
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := curObj.(*corev1.Pod)
	if !ok1 || !ok2 || IsPodReady(old) || !IsPodReady(cur) {
		return
	}
	if s := h.MinReadySeconds(owner); s > 0 {
		// A second more, as upstream's: AddAfter's timer may fire a few
		// milliseconds early for the availability check.
		h.EnqueueAfter(owner, time.Duration(s)*time.Second+time.Second)
	}
}
