package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth/podsecurity"
	"github.com/kemudi/kemudi/internal/storage"
)

// newPodSecurity is the PodSecurity admission plugin configured by the
// AdmissionConfiguration at configFile ("" for upstream's defaults),
// reading namespaces and pods from the store's watch cache.
func newPodSecurity(configFile string, store *storage.Store) (*podsecurity.Plugin, error) {
	cfg, err := podsecurity.LoadConfig(configFile)
	if err != nil {
		return nil, err
	}
	return podsecurity.New(cfg, storeNamespaces{store}, storePods{store})
}

type storeNamespaces struct{ store *storage.Store }

// GetNamespace answers from the cache, or from etcd for a namespace
// created a moment ago that the cache has not seen yet.
func (s storeNamespaces) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	key := storage.Prefix + "namespaces/" + name
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if err != nil {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %s: stored as %T", name, obj)
	}
	return ns, nil
}

type storePods struct{ store *storage.Store }

func (s storePods) ListPods(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
	res, err := s.store.List(ctx, storage.Prefix+"pods/"+namespace+"/", storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(res.Items))
	for _, o := range res.Items {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	return pods, nil
}
