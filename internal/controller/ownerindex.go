package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// ControllerUIDIndex indexes objects of any kind by the UID of their
// controller, and objects without one under "orphan/<namespace>": the
// ReplicaSets of a Deployment, the sets of one owner, the orphans a
// controller may adopt.
const ControllerUIDIndex = "kemudi.io/controller-uid"

// AddControllerUIDIndex adds ControllerUIDIndex to an informer (once,
// whichever controller asks first). Call it before informers start.
func AddControllerUIDIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[ControllerUIDIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{ControllerUIDIndex: func(obj interface{}) ([]string, error) {
		m, ok := obj.(metav1.Object)
		if !ok {
			return nil, nil
		}
		if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
			return []string{string(ref.UID)}, nil
		}
		return []string{"orphan/" + m.GetNamespace()}, nil
	}})
	if err != nil {
		if _, ok := inf.GetIndexer().GetIndexers()[ControllerUIDIndex]; ok {
			return nil // another controller added it meanwhile
		}
		return fmt.Errorf("add controller UID index: %w", err)
	}
	return nil
}

// ControlledBy returns the cached objects (of type T) whose controller
// has uid; with orphansIn, also the objects of that namespace without a
// controller. The objects are the cache's: do not modify them.
func ControlledBy[T any](indexer cache.Indexer, uid string, orphansIn ...string) ([]T, error) {
	keys := []string{uid}
	for _, ns := range orphansIn {
		keys = append(keys, "orphan/"+ns)
	}
	var out []T
	for _, k := range keys {
		objs, err := indexer.ByIndex(ControllerUIDIndex, k)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
