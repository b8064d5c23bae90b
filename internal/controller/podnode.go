package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PodNodeIndex indexes pods by spec.nodeName (bound pods only), so that a
// controller finds the pods of a node without scanning every pod.
const PodNodeIndex = "kemudi.io/pod-node"

// AddPodNodeIndex adds PodNodeIndex to a pod informer (once, whichever
// controller asks first). Call it before informers start.
func AddPodNodeIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[PodNodeIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{PodNodeIndex: func(obj interface{}) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{pod.Spec.NodeName}, nil
	}})
	if err != nil {
		if _, ok := inf.GetIndexer().GetIndexers()[PodNodeIndex]; ok {
			return nil
		}
		return fmt.Errorf("add pod node index: %w", err)
	}
	return nil
}

// PodsOnNode returns the pods bound to a node, from the cache: do not
// modify them.
func PodsOnNode(indexer cache.Indexer, node string) ([]*corev1.Pod, error) {
	objs, err := indexer.ByIndex(PodNodeIndex, node)
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out, nil
}
