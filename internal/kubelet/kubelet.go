package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	nodelisters "k8s.io/client-go/listers/node/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/kubelet/node"
	"github.com/kemudi/kemudi/internal/kubelet/probe"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
	"github.com/kemudi/kemudi/internal/kubelet/volume/csi"
)

// Kubelet runs the pods bound to one node.
type Kubelet struct {
	opts        Options
	client      kubernetes.Interface
	rt          Runtime
	closeRT     func() error
	log         *slog.Logger
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	node        *node.Agent
	volumes     *volume.Manager
	csiDrivers  *csi.Drivers
	userns      *usernsManager
	probes      *probe.Manager
	factory     informers.SharedInformerFactory
	podsInf     cache.SharedIndexInformer
	imageGC     *imageGC
	evictions   *evictionManager
	static      *staticPods // nil without PodManifestPath and ManifestURL
	services    corelisters.ServiceLister
	// runtimeClasses name the runtime handlers of pods with a RuntimeClass.
	runtimeClasses nodelisters.RuntimeClassLister

	mu      sync.Mutex
	workers map[types.UID]*worker
	// admitMu makes admission one pod at a time (admit_pod.go).
	admitMu sync.Mutex
	wg      sync.WaitGroup
	ctx     context.Context
}

// Run builds a kubelet and runs it until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	k, err := New(cfg, opts)
	if err != nil {
		return err
	}
	return k.Run(ctx)
}

// New builds a kubelet from its API client config and options.
func New(cfg *rest.Config, opts Options) (*Kubelet, error) {
	if opts.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		opts.NodeName = h
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	log := opts.Log.With("component", "kubelet", "node", opts.NodeName)
	if len(opts.NodeIPs) == 0 {
		ip, err := node.DefaultIP()
		if err != nil {
			return nil, err
		}
		opts.NodeIPs = []net.IP{ip}
	}
	client, err := kubernetes.NewForConfig(apiclient.Unlimited(cfg, "kubelet/"+Version))
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	k := &Kubelet{opts: opts, client: client, log: log, workers: map[types.UID]*worker{}, rt: opts.Runtime}
	// Before the runtime is dialled: a bad manifest URL leaves nothing open.
	if opts.PodManifestPath != "" || opts.ManifestURL != "" {
		if k.static, err = newStaticPods(k); err != nil {
			return nil, err
		}
	}
	// So is a node's range of IDs that cannot hold its pods' (user
	// namespaces), or a pod's block another --userns-ids-per-pod made.
	k.userns, err = newUsernsManager(podsDir(opts.RootDir), usernsConfig{idsPerPod: opts.UsernsIDsPerPod, maxPods: opts.MaxPods, subIDs: hostSubIDs()})
	if err != nil {
		return nil, err
	}
	if k.rt == nil {
		rt, closeRT, err := Dial(opts.RuntimeEndpoint)
		if err != nil {
			return nil, err
		}
		k.rt, k.closeRT = rt, closeRT
	}
	k.rt = Instrument(k.rt, opts.Metrics)
	k.evictions = newEvictionManager(k)
	k.broadcaster = record.NewBroadcaster()
	k.recorder = k.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: opts.NodeName})
	k.csiDrivers = csi.NewDrivers()
	mounter := csi.NewMounter(opts.RootDir, opts.NodeName, client, k.csiDrivers, log)
	mounter.Reported = k.reportedInUse
	k.volumes = volume.New(podsDir(opts.RootDir), client, log).WithCSI(mounter)
	k.node = node.New(node.Config{
		Name: opts.NodeName, Client: client, Runtime: k.rt, Recorder: k.recorder,
		Labels: opts.NodeLabels, Taints: opts.Taints, NodeIPs: opts.NodeIPs,
		KubeReserved: opts.KubeReserved, SystemReserved: opts.SystemReserved, MaxPods: opts.MaxPods,
		DataDir: opts.RootDir, KubeletVersion: Version, KubeletPort: opts.Port,
		StatusInterval: opts.StatusInterval, ReportInterval: opts.StatusReportInterval, LeaseInterval: opts.LeaseInterval, LeaseDuration: 40,
		Pressure: k.evictions.Pressure, EvictionReserve: k.evictions.reserve,
		VolumesInUse: k.volumes.InUse,
		Log:          log,
	})
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	k.probes = probe.NewManager(probe.Checker{Exec: k.execSync, Dial: dial}, k.recorder, k.wake, log)
	k.probes.Metrics = opts.ProbeMetrics
	k.factory = informers.NewSharedInformerFactoryWithOptions(client, 0)
	k.podsInf = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", opts.NodeName).String()
	})).Core().V1().Pods().Informer()
	k.services = k.factory.Core().V1().Services().Lister()
	k.runtimeClasses = k.factory.Node().V1().RuntimeClasses().Lister()
	k.imageGC = newImageGC(k)
	return k, nil
}

// Run registers the node and runs its pods until ctx ends. Containers
// keep running when it returns: a kubelet started again adopts them.
func (k *Kubelet) Run(ctx context.Context) error {
	defer func() {
		if k.closeRT != nil {
			_ = k.closeRT()
		}
	}()
	for _, d := range []string{k.opts.RootDir, podsDir(k.opts.RootDir), k.opts.PodLogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", d, err)
		}
	}
	k.ctx = ctx
	k.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.client.CoreV1().Events("")})
	defer k.broadcaster.Shutdown()

	registered := make(chan struct{})
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- k.node.Run(ctx, registered) }()
	select {
	case <-registered:
	case <-ctx.Done():
		return nil
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		r := csi.NewRegistrar(volume.PluginsRegistryDir(k.opts.RootDir), k.opts.NodeName, k.client, k.csiDrivers, k.log)
		if err := r.Run(ctx); err != nil {
			k.log.Error("CSI plugin registration stopped", "err", err)
		}
	}()
	reg, err := k.podsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.podChanged(obj) },
		UpdateFunc: func(_, obj any) { k.podChanged(obj) },
		DeleteFunc: func(obj any) { k.podGone(obj) },
	})
	if err != nil {
		return fmt.Errorf("pod handler: %w", err)
	}
	k.factory.Core().V1().Services().Informer()
	k.factory.Node().V1().RuntimeClasses().Informer()
	k.factory.Start(ctx.Done())
	go k.podsInf.Run(ctx.Done())
	// Every pod of the node has its worker before the first relist, which
	// would otherwise take a pod's containers for an orphan's.
	if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return nil
	}
	k.factory.WaitForCacheSync(ctx.Done())
	if k.static != nil {
		// Static pods too have their workers before the first relist.
		if k.opts.PodManifestPath != "" {
			if err := os.MkdirAll(k.opts.PodManifestPath, 0o755); err != nil {
				return fmt.Errorf("make %s: %w", k.opts.PodManifestPath, err)
			}
		}
		k.static.loadAll(ctx)
	}
	k.log.Info("kubelet running")
	k.startHousekeeping(ctx)
	k.relistLoop(ctx)
	k.wg.Wait()
	if err := <-nodeDone; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func podsDir(root string) string { return volume.PodsDir(root) }

func (k *Kubelet) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if isMirrorPod(pod) {
		// Not run from the API: its static pod is.
		k.mirrorChanged(pod)
		return
	}
	w := k.worker(pod.UID)
	w.setPod(pod)
}

func (k *Kubelet) podGone(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if isMirrorPod(pod) {
		k.mirrorChanged(pod)
		return
	}
	k.worker(pod.UID).setPod(nil)
}

// worker is the pod's worker, started on first use.
func (k *Kubelet) worker(uid types.UID) *worker {
	k.mu.Lock()
	defer k.mu.Unlock()
	w, ok := k.workers[uid]
	if !ok {
		w = newWorker(k, uid)
		k.workers[uid] = w
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			w.run(k.ctx)
		}()
	}
	return w
}

// wake asks the pod's worker to sync now.
func (k *Kubelet) wake(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	k.mu.Unlock()
	if w != nil {
		w.poke()
	}
}

func (k *Kubelet) workerDone(w *worker) {
	k.mu.Lock()
	if k.workers[w.uid] == w {
		delete(k.workers, w.uid)
	}
	k.mu.Unlock()
	// What the pod held is free: resizes waiting for room may fit now.
	k.retryDeferredResizes()
}

// configMap and secret fetch what containers refer to, with upstream's
// messages when they are missing.
func (k *Kubelet) configMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	cm, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
	}
	return cm, err
}

func (k *Kubelet) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	s, err := k.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
	}
	return s, err
}

func (k *Kubelet) allServices() []*corev1.Service {
	svcs, _ := k.services.List(labels.Everything())
	return svcs
}

// hostIPs are the node's addresses as pods see them.
func (k *Kubelet) hostIPs() []string {
	var out []string
	for _, ip := range k.opts.NodeIPs {
		out = append(out, ip.String())
	}
	return out
}

func (k *Kubelet) allocatable() corev1.ResourceList {
	if n := k.node.Node(); n != nil {
		return n.Status.Allocatable
	}
	return nil
}

func (k *Kubelet) memoryCapacity() int64 {
	if n := k.node.Node(); n != nil {
		return n.Status.Capacity.Memory().Value()
	}
	return 0
}

// reportedInUse says whether the node's status in the API lists the
// volume in volumesInUse; if not, the status is written now rather than
// at the next interval.
func (k *Kubelet) reportedInUse(name corev1.UniqueVolumeName) bool {
	if n := k.node.Node(); n != nil && slices.Contains(n.Status.VolumesInUse, name) {
		return true
	}
	k.node.Refresh()
	return false
}
