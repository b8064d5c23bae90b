package rbac

import (
	"context"
	"log/slog"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps x up to date with the RBAC objects in store, from the store's
// own watch cache (no copy of etcd's traffic), until ctx ends. synced is
// closed once x holds every object that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, x *Index, log *slog.Logger) (synced <-chan struct{}) {
	kinds := []struct {
		resource string
		sample   any
	}{
		{"clusterroles", &rbacv1.ClusterRole{}},
		{"roles", &rbacv1.Role{}},
		{"clusterrolebindings", &rbacv1.ClusterRoleBinding{}},
		{"rolebindings", &rbacv1.RoleBinding{}},
	}
	var chs []<-chan struct{}
	for _, k := range kinds {
		chs = append(chs, store.Follow(ctx, storage.Prefix+k.resource+"/", storage.Sink{
			Set:    func(o runtime.Object) { x.Set(o) },
			Delete: func(o runtime.Object) { x.Delete(o) },
			Reset: func(objs []runtime.Object) {
				fresh := make([]any, len(objs))
				for i, o := range objs {
					fresh[i] = o
				}
				x.Reset(k.sample, fresh)
			},
		}, log))
	}
	return storage.AllSynced(chs...)
}
