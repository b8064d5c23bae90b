package node

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps g up to date with the pods, persistent volumes, volume
// attachments and resource slices in store, from its watch cache, until
// ctx ends (a kind the API does not serve has nothing stored and adds
// nothing). synced is closed once g holds the objects that existed when
// Feed started; fresh waits until g holds everything the store held when
// it was called, and reports whether it does before ctx ends.
func Feed(ctx context.Context, store *storage.Store, g *Graph, log *slog.Logger) (synced <-chan struct{}, fresh func(context.Context) bool) {
	sinks := []storage.Sink{
		sinkOf(g.SetPod, func(p *corev1.Pod) { g.DeletePod(p.Namespace, p.Name) }, g.ResetPods),
		sinkOf(g.SetPV, func(pv *corev1.PersistentVolume) { g.DeletePV(pv.Name) }, g.ResetPVs),
		onNodeSink(g, KindVolumeAttachment, func(va *storagev1.VolumeAttachment) OnNode {
			return OnNode{Name: va.Name, Node: va.Spec.NodeName}
		}),
		onNodeSink(g, KindResourceSlice, func(s *resourcev1.ResourceSlice) OnNode {
			o := OnNode{Name: s.Name}
			if s.Spec.NodeName != nil {
				o.Node = *s.Spec.NodeName
			}
			return o
		}),
	}
	prefixes := []string{"pods/", "persistentvolumes/", KindVolumeAttachment + "/", KindResourceSlice + "/"}
	chans := make([]<-chan struct{}, len(sinks))
	freshness := make([]*storage.Freshness, len(sinks))
	for i, sink := range sinks {
		freshness[i] = &storage.Freshness{}
		sink.Fresh = freshness[i]
		chans[i] = store.Follow(ctx, storage.Prefix+prefixes[i], sink, log)
	}
	fresh = func(ctx context.Context) bool {
		rev := store.Revision()
		for _, f := range freshness {
			if !f.Wait(ctx, rev) {
				return false
			}
		}
		return true
	}
	all := make(chan struct{})
	go func() {
		for _, c := range chans {
			select {
			case <-c:
			case <-ctx.Done():
				return
			}
		}
		close(all)
	}()
	return all, fresh
}

// sinkOf adapts typed set, delete and reset functions to a storage.Sink;
// objects of other types are ignored.
func sinkOf[T runtime.Object](set, del func(T), reset func([]T)) storage.Sink {
	return storage.Sink{
		Set: func(o runtime.Object) {
			if t, ok := o.(T); ok {
				set(t)
			}
		},
		Delete: func(o runtime.Object) {
			if t, ok := o.(T); ok {
				del(t)
			}
		},
		Reset: func(objs []runtime.Object) {
			ts := make([]T, 0, len(objs))
			for _, o := range objs {
				if t, ok := o.(T); ok {
					ts = append(ts, t)
				}
			}
			reset(ts)
		},
	}
}

// onNodeSink feeds g the objects of kind that tie to one node, as on
// says.
func onNodeSink[T runtime.Object](g *Graph, kind string, on func(T) OnNode) storage.Sink {
	return sinkOf(
		func(t T) { o := on(t); g.SetOnNode(kind, o.Namespace, o.Name, o.Node) },
		func(t T) { o := on(t); g.SetOnNode(kind, o.Namespace, o.Name, "") },
		func(ts []T) {
			objs := make([]OnNode, 0, len(ts))
			for _, t := range ts {
				objs = append(objs, on(t))
			}
			g.ResetOnNode(kind, objs)
		},
	)
}
