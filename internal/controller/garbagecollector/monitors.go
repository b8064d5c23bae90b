package garbagecollector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// ignored are never watched: events are many and own nothing (upstream's
// default --gc-ignored-resources).
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// monitor is the metadata informer of one resource.
type monitor struct {
	informer cache.SharedIndexInformer
	stop     context.CancelFunc
}

// deletableResources are the preferred versions of the resources that
// can be listed, watched and deleted.
func deletableResources(dc discovery.DiscoveryInterface) (map[schema.GroupVersionResource]bool, error) {
	lists, err := dc.ServerPreferredResources()
	if lists == nil {
		return nil, fmt.Errorf("discover resources: %w", err)
	}
	out := map[schema.GroupVersionResource]bool{}
	for _, l := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete", "list", "watch"}}, lists) {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || ignored[schema.GroupResource{Group: gv.Group, Resource: r.Name}] {
				continue
			}
			out[gv.WithResource(r.Name)] = true
		}
	}
	// A partial discovery failure still gives the groups that answered.
	return out, nil
}

// syncMonitors starts monitors for new resources and stops those of
// resources no longer served; it returns how many it started.
func (gc *GC) syncMonitors(ctx context.Context) (int, error) {
	resources, err := deletableResources(gc.discovery)
	if err != nil {
		return 0, err
	}
	groups, err := restmapper.GetAPIGroupResources(gc.discovery)
	if err != nil && len(groups) == 0 {
		return 0, fmt.Errorf("discover groups: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	gc.mapperMu.Lock()
	gc.mapper = mapper
	gc.mapperMu.Unlock()

	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	started := 0
	var names []string
	for gvr := range resources {
		if _, ok := gc.monitors[gvr]; ok {
			continue
		}
		gvk, err := mapper.KindFor(gvr)
		if err != nil {
			gc.log.Debug("no kind for resource; not watched", "resource", gvr.String(), "err", err)
			continue
		}
		gc.monitors[gvr] = gc.startMonitor(ctx, gvr, gvk)
		started++
		names = append(names, gvr.Resource+"."+gvr.Group)
	}
	for gvr, m := range gc.monitors {
		if !resources[gvr] {
			m.stop()
			delete(gc.monitors, gvr)
		}
	}
	if started > 0 {
		sort.Strings(names)
		gc.log.Debug("watching resources", "resources", strings.Join(names, ","))
	}
	return started, nil
}

func (gc *GC) startMonitor(ctx context.Context, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind) *monitor {
	inf := metadatainformer.NewFilteredMetadataInformer(gc.metadata, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	_ = inf.SetTransform(trim)
	send := func(typ changeType, obj interface{}) {
		m, ok := controller.DeletedObject[*metav1.PartialObjectMetadata](obj)
		if !ok {
			return
		}
		gc.addChange(&change{typ: typ, gvk: gvk, obj: m})
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { send(addOrUpdate, obj) },
		UpdateFunc: func(old, cur interface{}) {
			o, ok1 := old.(*metav1.PartialObjectMetadata)
			c, ok2 := cur.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 && o.ResourceVersion == c.ResourceVersion {
				return
			}
			send(addOrUpdate, cur)
		},
		DeleteFunc: func(obj interface{}) { send(deletion, obj) },
	})
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		inf.Run(mctx.Done())
	}()
	return &monitor{informer: inf, stop: func() { cancel(); wg.Wait() }}
}

// synced says whether every monitor has listed its resource.
func (gc *GC) synced() bool {
	gc.monitorsMu.Lock()
	defer gc.monitorsMu.Unlock()
	for _, m := range gc.monitors {
		if !m.informer.HasSynced() {
			return false
		}
	}
	return true
}

// trim keeps of an object only what the graph uses.
func trim(obj interface{}) (interface{}, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		OwnerReferences:   m.OwnerReferences,
		Finalizers:        m.Finalizers,
		DeletionTimestamp: m.DeletionTimestamp,
	}}, nil
}

// resourceFor maps an owner reference's kind to its resource and scope.
func (gc *GC) resourceFor(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	gc.mapperMu.RLock()
	mapper := gc.mapper
	gc.mapperMu.RUnlock()
	if mapper == nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("no REST mapping yet")
	}
	m, err := mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// clientFor is the metadata client of an object's resource, in its
// namespace (none for a cluster-scoped resource), and the resource.
func (gc *GC) clientFor(id ref) (metadata.ResourceInterface, schema.GroupResource, error) {
	gvr, namespaced, err := gc.resourceFor(id.APIVersion, id.Kind)
	if err != nil {
		return nil, schema.GroupResource{}, err
	}
	ns := id.Namespace
	if !namespaced {
		ns = ""
	}
	return gc.metadata.Resource(gvr).Namespace(ns), gvr.GroupResource(), nil
}
