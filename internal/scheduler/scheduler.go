package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
	"github.com/kemudi/kemudi/internal/scheduler/preemption"
	"github.com/kemudi/kemudi/internal/scheduler/queue"
)

// Scheduler places pending pods on nodes. It is an API client: it
// watches pods and nodes (and what the plugins read), keeps its cache
// and queue from those events, and writes bindings, events and pod
// status.
type Scheduler struct {
	client kubernetes.Interface
	opts   Options
	log    *slog.Logger
	names  sets.Set[string]

	// informers are the shared ones (namespaces, services, workloads,
	// volumes, budgets); pods have their own, without finished pods, as
	// upstream's scheduler.
	informers   informers.SharedInformerFactory
	podInformer informers.SharedInformerFactory
	pods        corelisters.PodLister
	// handlersSynced report the pod and node handlers caught up with
	// their informers' initial lists.
	handlersSynced []cache.InformerSynced

	cache    *framework.Cache
	snapshot *framework.Snapshot
	queue    *queue.Queue
	fw       *framework.Framework
	volumes  *volumebinding.Plugin
	preempt  *preemption.Evaluator
	actuator *preemption.Actuator

	recorders map[string]events.EventRecorder
	// binds limits the bindings in flight; wg waits for them and the
	// other asynchronous API calls on shutdown.
	binds chan struct{}
	wg    sync.WaitGroup
}

// New builds a scheduler on client. Events go through broadcaster
// (nil: none are recorded). Call Run to start it.
func New(client kubernetes.Interface, broadcaster events.EventBroadcaster, opts Options) (*Scheduler, error) {
	opts.defaults()
	s := &Scheduler{
		client:    client,
		opts:      opts,
		log:       opts.Log.With("component", "scheduler"),
		names:     sets.New(opts.SchedulerNames...),
		informers: informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimManagedFields)),
		podInformer: informers.NewSharedInformerFactoryWithOptions(client, 0,
			informers.WithTransform(trimPod),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.AndSelectors(
					fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
					fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
				).String()
			})),
		cache:     framework.NewCache(),
		snapshot:  framework.NewSnapshot(),
		recorders: map[string]events.EventRecorder{},
		binds:     make(chan struct{}, opts.MaxBindsInFlight),
	}
	s.queue = queue.New(queue.Options{Interest: Interest()})
	plugins, weights := DefaultPlugins(s.informers)
	for _, p := range plugins {
		if vb, ok := p.(*volumebinding.Plugin); ok {
			vb.SetBinding(volumebinding.Binding{
				Client:  client,
				Pods:    s.podInformer.Core().V1().Pods().Lister(),
				Timeout: opts.VolumeBindTimeout,
			})
			s.volumes = vb
		}
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	s.fw = framework.New(plugins, weights, framework.Options{
		Parallelism:              opts.Parallelism,
		PercentageOfNodesToScore: opts.PercentageOfNodesToScore,
		Nominator:                s.queue,
		Rand:                     rnd,
	})
	pdbs := s.informers.Policy().V1().PodDisruptionBudgets().Lister()
	s.preempt = &preemption.Evaluator{
		Framework:   s.fw,
		PDBs:        func() ([]*policyv1.PodDisruptionBudget, error) { return pdbs.List(labels.Everything()) },
		Parallelism: opts.Parallelism,
	}
	for _, name := range opts.SchedulerNames {
		if broadcaster == nil {
			s.recorders[name] = &events.FakeRecorder{}
			continue
		}
		s.recorders[name] = broadcaster.NewRecorder(scheme.Scheme, name)
	}
	s.actuator = &preemption.Actuator{Client: client, Recorder: s.recorders[opts.SchedulerNames[0]], SchedulerName: opts.SchedulerNames[0], Log: s.log}
	if err := s.addHandlers(); err != nil {
		return nil, err
	}
	return s, nil
}

// Run schedules until ctx ends: it starts the informers, waits for
// their caches, then runs the scheduling loop. Bindings in flight
// finish before it returns.
func (s *Scheduler) Run(ctx context.Context) error {
	s.informers.Start(ctx.Done())
	s.podInformer.Start(ctx.Done())
	defer func() {
		s.informers.Shutdown()
		s.podInformer.Shutdown()
	}()
	for _, f := range []informers.SharedInformerFactory{s.informers, s.podInformer} {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("informer for %v did not sync", typ)
			}
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), s.handlersSynced...) {
		return nil // stopped while waiting
	}
	nodes, pods := s.cache.Counts()
	active, _, pending := s.queue.Counts()
	s.log.Info("scheduler started", "names", sets.List(s.names), "nodes", nodes, "boundPods", pods, "pendingPods", active+pending)
	go s.queue.Run(ctx)
	for ctx.Err() == nil {
		s.scheduleOne(ctx)
	}
	s.wg.Wait()
	return nil
}

// volumeChange wakes the bindings waiting for claims to be bound.
func (s *Scheduler) volumeChange() {
	if s.volumes != nil {
		s.volumes.Notify()
	}
}

// responsible is true for pods naming one of this scheduler's names.
func (s *Scheduler) responsible(pod *corev1.Pod) bool { return s.names.Has(pod.Spec.SchedulerName) }

func (s *Scheduler) recorder(pod *corev1.Pod) events.EventRecorder {
	if r, ok := s.recorders[pod.Spec.SchedulerName]; ok {
		return r
	}
	return s.recorders[s.opts.SchedulerNames[0]]
}

// addHandlers registers the informer handlers that feed the cache and
// the queue. Informers only hand objects over; nothing here calls the
// API.
func (s *Scheduler) addHandlers() error {
	podHandler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPodAdd(obj) },
		UpdateFunc: func(old, obj any) { s.onPodUpdate(old, obj) },
		DeleteFunc: func(obj any) { s.onPodDelete(obj) },
	}
	pi := s.podInformer.Core().V1().Pods()
	pods, err := pi.Informer().AddEventHandler(podHandler)
	if err != nil {
		return err
	}
	s.pods = pi.Lister()
	core := s.informers.Core().V1()
	nodes, err := core.Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onNodeAdd(obj) },
		UpdateFunc: func(old, obj any) { s.onNodeUpdate(old, obj) },
		DeleteFunc: func(obj any) { s.onNodeDelete(obj) },
	})
	if err != nil {
		return err
	}
	// The cache is what these handlers made of the informers' initial
	// lists: scheduling waits for them, not only for the lists.
	s.handlersSynced = []cache.InformerSynced{pods.HasSynced, nodes.HasSynced}
	// Claims and volumes also wake the bindings waiting for them.
	move := func(e queue.Event) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { s.volumeChange(); s.queue.MoveAllToActiveOrBackoff(e) },
			UpdateFunc: func(any, any) { s.volumeChange(); s.queue.MoveAllToActiveOrBackoff(e) },
			DeleteFunc: func(any) { s.volumeChange() },
		}
	}
	storage := s.informers.Storage().V1()
	for inf, e := range map[cache.SharedIndexInformer]queue.Event{
		core.PersistentVolumeClaims().Informer():  queue.PVCChange,
		core.PersistentVolumes().Informer():       queue.PVChange,
		storage.StorageClasses().Informer():       queue.StorageClassChange,
		storage.CSINodes().Informer():             queue.CSINodeChange,
		storage.CSIDrivers().Informer():           queue.CSIDriverChange,
		storage.CSIStorageCapacities().Informer(): queue.CSIStorageCapacityChange,
	} {
		if _, err := inf.AddEventHandler(move(e)); err != nil {
			return err
		}
	}
	if _, err := core.Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			o, n := old.(*corev1.Namespace), obj.(*corev1.Namespace)
			if !labels.Equals(o.Labels, n.Labels) {
				s.queue.MoveAllToActiveOrBackoff(queue.NamespaceLabelChange)
			}
		},
	}); err != nil {
		return err
	}
	// Listers the plugins read must be started: ask for them here.
	s.informers.Core().V1().Services().Informer()
	s.informers.Core().V1().ReplicationControllers().Informer()
	s.informers.Apps().V1().ReplicaSets().Informer()
	s.informers.Apps().V1().StatefulSets().Informer()
	s.informers.Policy().V1().PodDisruptionBudgets().Informer()
	return nil
}
