package resourcequota

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/quota"
)

// Name is the controller's name in --controllers.
const Name = "resourcequota"

// SyncPeriod is how often every quota is recounted (upstream's
// --resource-quota-sync-period).
const SyncPeriod = 5 * time.Minute

// kind is a counted kind with its cache.
type kind struct {
	gr   schema.GroupResource
	inf  cache.SharedIndexInformer
	list func(namespace string) ([]runtime.Object, error)
}

// Controller keeps quota status in step with usage.
type Controller struct {
	client kubernetes.Interface
	quotas corelisters.ResourceQuotaLister
	kinds  []kind
	loop   *controller.Loop
	log    *slog.Logger
	now    func() time.Time

	// Kinds without an informer (count/<resource>.<group>) are listed
	// through the metadata client, their resource found by discovery.
	meta   metadata.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	mu     sync.Mutex
}

// New builds the resourcequota controller.
func New(c *controller.Context) (*Controller, error) {
	qInf := c.Informers.Core().V1().ResourceQuotas()
	rc := &Controller{
		client: c.Client,
		quotas: qInf.Lister(),
		log:    c.Logger(Name),
		now:    c.Clock.Now,
	}
	rc.loop = c.NewLoop(Name, rc.sync, rc.log)
	if c.Config != nil {
		m, err := metadata.NewForConfig(c.Config)
		if err != nil {
			return nil, err
		}
		rc.meta = m
		rc.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	}
	if _, err := qInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: rc.loop.Enqueue,
		// Only a new spec calls for a recount: status changes are this
		// controller's and the admission's charges (recounting on those
		// would race creates the admission charged and that are not
		// cached yet).
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.ResourceQuota), obj.(*corev1.ResourceQuota)
			if !apiequality.Semantic.DeepEqual(o.Spec, n.Spec) {
				rc.loop.Enqueue(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	f := c.Informers.Core().V1()
	for _, k := range []kind{
		{schema.GroupResource{Resource: "pods"}, f.Pods().Informer(), listOf(f.Pods().Lister().Pods)},
		{schema.GroupResource{Resource: "services"}, f.Services().Informer(), listOf(f.Services().Lister().Services)},
		{schema.GroupResource{Resource: "configmaps"}, f.ConfigMaps().Informer(), listOf(f.ConfigMaps().Lister().ConfigMaps)},
		{schema.GroupResource{Resource: "secrets"}, f.Secrets().Informer(), listOf(f.Secrets().Lister().Secrets)},
		{schema.GroupResource{Resource: "persistentvolumeclaims"}, f.PersistentVolumeClaims().Informer(), listOf(f.PersistentVolumeClaims().Lister().PersistentVolumeClaims)},
		{schema.GroupResource{Resource: "replicationcontrollers"}, f.ReplicationControllers().Informer(), listOf(f.ReplicationControllers().Lister().ReplicationControllers)},
		{schema.GroupResource{Resource: "resourcequotas"}, qInf.Informer(), listOf(qInf.Lister().ResourceQuotas)},
	} {
		rc.kinds = append(rc.kinds, k)
		if k.gr.Resource == "resourcequotas" {
			continue
		}
		// Creates were charged by the admission; what gives usage back
		// (upstream's replenishment) is a deletion, a pod that finished or
		// is being deleted, a claim or service that changed.
		if _, err := k.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(old, obj interface{}) {
				if replenishes(old, obj) {
					rc.objectChanged(obj)
				}
			},
			DeleteFunc: rc.objectChanged,
		}); err != nil {
			return nil, err
		}
	}
	return rc, nil
}

// replenishes reports an update that may lower usage.
func replenishes(old, obj interface{}) bool {
	switch n := obj.(type) {
	case *corev1.Pod:
		o := old.(*corev1.Pod)
		return o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
			quota.TerminatingChanged(o, n) || statusResourcesChanged(o, n)
	case *corev1.PersistentVolumeClaim:
		o := old.(*corev1.PersistentVolumeClaim)
		return !apiequality.Semantic.DeepEqual(o.Spec.Resources, n.Spec.Resources) || !apiequality.Semantic.DeepEqual(o.Status.AllocatedResources, n.Status.AllocatedResources)
	case *corev1.Service:
		o := old.(*corev1.Service)
		return o.Spec.Type != n.Spec.Type || len(o.Spec.Ports) != len(n.Spec.Ports)
	}
	return false
}

// statusResourcesChanged: a container's resources as the kubelet reports
// them changed (an in-place resize took effect), as upstream's quota
// controller recounts on.
func statusResourcesChanged(o, n *corev1.Pod) bool {
	changed := func(old, cur []corev1.ContainerStatus) bool {
		for _, os := range old {
			for _, ns := range cur {
				if ns.Name == os.Name && !apiequality.Semantic.DeepEqual(os.Resources, ns.Resources) {
					return true
				}
			}
		}
		return false
	}
	return changed(o.Status.ContainerStatuses, n.Status.ContainerStatuses) ||
		changed(o.Status.InitContainerStatuses, n.Status.InitContainerStatuses)
}

// listOf turns a typed namespace lister into a list of objects.
func listOf[T runtime.Object, L interface {
	List(labels.Selector) ([]T, error)
}](ns func(string) L) func(string) ([]runtime.Object, error) {
	return func(namespace string) ([]runtime.Object, error) {
		items, err := ns(namespace).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		out := make([]runtime.Object, len(items))
		for i, it := range items {
			out[i] = it
		}
		return out, nil
	}
}

// objectChanged queues the quotas of the object's namespace.
func (rc *Controller) objectChanged(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	qs, err := rc.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		rc.loop.Enqueue(q)
	}
}

// Run recounts until ctx ends, every quota once per SyncPeriod.
func (rc *Controller) Run(ctx context.Context) error {
	go func() {
		t := time.NewTicker(SyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				qs, err := rc.quotas.List(labels.Everything())
				if err != nil {
					continue
				}
				for _, q := range qs {
					rc.loop.Enqueue(q)
				}
			}
		}
	}()
	rc.loop.Run(ctx, 4)
	return nil
}

func (rc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	q, err := rc.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := rc.usage(ctx, q)
	if err != nil {
		return err
	}
	if apiequality.Semantic.DeepEqual(q.Status.Hard, q.Spec.Hard) && apiequality.Semantic.DeepEqual(q.Status.Used, used) {
		return nil
	}
	next := q.DeepCopy()
	next.Status.Hard = q.Spec.Hard
	next.Status.Used = used
	_, err = rc.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// usage computes a quota's status.used: every hard resource, counted
// over the namespace's objects.
func (rc *Controller) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	hard := quota.Names(q.Spec.Hard)
	used := corev1.ResourceList{}
	covered := map[corev1.ResourceName]bool{}
	now := rc.now()
	for _, k := range rc.kinds {
		if len(quota.Matching(k.gr, hard)) == 0 {
			continue
		}
		objs, err := k.list(q.Namespace)
		if err != nil {
			return nil, err
		}
		usages := make([]quota.ObjectUsage, len(objs))
		for i, o := range objs {
			usages[i] = quota.ObjectUsage{Object: o, Usage: quota.Usage(k.gr, o, now)}
		}
		for n, v := range quota.Used(q, k.gr, usages) {
			used[n] = v
			covered[n] = true
		}
	}
	for _, n := range hard {
		if covered[n] {
			continue
		}
		used[n] = *resourceQuantity(0)
		if !strings.HasPrefix(string(n), "count/") || len(q.Spec.Scopes) > 0 || q.Spec.ScopeSelector != nil {
			continue
		}
		count, err := rc.countOther(ctx, q.Namespace, strings.TrimPrefix(string(n), "count/"))
		if err != nil {
			rc.log.Warn("count objects for quota", "quota", q.Namespace+"/"+q.Name, "resource", n, "err", err)
			continue
		}
		used[n] = *resourceQuantity(count)
	}
	return used, nil
}

// countOther counts the objects of a resource ("deployments.apps") in a
// namespace through the metadata API.
func (rc *Controller) countOther(ctx context.Context, namespace, resource string) (int64, error) {
	if rc.meta == nil {
		return 0, fmt.Errorf("no metadata client")
	}
	gr := schema.ParseGroupResource(resource)
	rc.mu.Lock()
	gvr, err := rc.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		rc.mapper.Reset()
		gvr, err = rc.mapper.ResourceFor(gr.WithVersion(""))
	}
	rc.mu.Unlock()
	if err != nil {
		return 0, err
	}
	list, err := rc.meta.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, err
	}
	return int64(len(list.Items)), nil
}
