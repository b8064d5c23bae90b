package node

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps g up to date with the pods in store, from its watch cache,
// until ctx ends. synced is closed once g holds the pods that existed
// when Feed started.
func Feed(ctx context.Context, store *storage.Store, g *Graph, log *slog.Logger) (synced <-chan struct{}) {
	return store.Follow(ctx, storage.Prefix+"pods/", storage.Sink{
		Set: func(o runtime.Object) {
			if p, ok := o.(*corev1.Pod); ok {
				g.SetPod(p)
			}
		},
		Delete: func(o runtime.Object) {
			if p, ok := o.(*corev1.Pod); ok {
				g.DeletePod(p)
			}
		},
		Reset: func(objs []runtime.Object) {
			pods := make([]*corev1.Pod, 0, len(objs))
			for _, o := range objs {
				if p, ok := o.(*corev1.Pod); ok {
					pods = append(pods, p)
				}
			}
			g.Reset(pods)
		},
	}, log)
}
