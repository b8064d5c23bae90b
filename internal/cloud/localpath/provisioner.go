package localpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

// LocalPath provisions, deletes and grows one node's local-path volumes.
type LocalPath struct {
	opts    Options
	client  kubernetes.Interface
	factory informers.SharedInformerFactory
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	claimQ  *controller.Loop
	volumeQ *controller.Loop
	// capacityQ publishes the node's free space (publish.go).
	capacityQ *controller.Loop
	events    record.EventBroadcaster
	recorder  record.EventRecorder
	backoff   *backoff
	now       func() time.Time

	mu       sync.Mutex
	hostname string
	// refused remembers the claims told they ask what local-path cannot
	// give (Block, a data source: immutable), to tell each once.
	refused map[types.UID]bool
}

// Run provisions for the API server at cfg (with the node's identity)
// until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("local-path: client: %w", err)
	}
	p, err := New(client, o)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// New builds the provisioner on client's informers.
func New(client kubernetes.Interface, o Options) (*LocalPath, error) {
	if o.NodeName == "" {
		return nil, errors.New("local-path: a node name is required")
	}
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("local-path: the storage directory %q is not an absolute path", o.Dir)
	}
	o.Dir = filepath.Clean(o.Dir)
	o.defaults()
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(controller.TrimManagedFields))
	p := &LocalPath{
		opts:    o,
		client:  client,
		factory: f,
		claims:  f.Core().V1().PersistentVolumeClaims().Lister(),
		volumes: f.Core().V1().PersistentVolumes().Lister(),
		classes: f.Storage().V1().StorageClasses().Lister(),
		events:  record.NewBroadcaster(),
		backoff: newBackoff(o.RetryStart, o.RetryMax),
		now:     time.Now,
		refused: map[types.UID]bool{},
	}
	// Upstream names the source provisioner_node_identity.
	p.recorder = p.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Provisioner + "_" + o.NodeName, Host: o.NodeName})
	p.claimQ = controller.NewLoop("local-path-claims", p.syncClaim, o.Log)
	p.volumeQ = controller.NewLoop("local-path-volumes", p.syncVolume, o.Log)
	p.capacityQ = controller.NewLoop("local-path-capacity", p.syncCapacity, o.Log)
	if err := p.watch(); err != nil {
		return nil, err
	}
	return p, nil
}

// watch wires the informers to the queues: claims to provision or grow,
// volumes to delete; a class that appears or changes concerns the
// claims waiting for it, and, with one that goes, the capacities
// published.
func (p *LocalPath) watch() error {
	if _, err := p.factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.claimQ.Enqueue,
		UpdateFunc: func(_, obj any) { p.claimQ.Enqueue(obj) },
		DeleteFunc: p.claimDeleted,
	}); err != nil {
		return fmt.Errorf("local-path: watch claims: %w", err)
	}
	if _, err := p.factory.Core().V1().PersistentVolumes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.volumeQ.Enqueue,
		UpdateFunc: func(_, obj any) { p.volumeQ.Enqueue(obj) },
	}); err != nil {
		return fmt.Errorf("local-path: watch volumes: %w", err)
	}
	if _, err := p.factory.Storage().V1().StorageClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.enqueueClaims(); p.publishCapacity() },
		UpdateFunc: func(_, _ any) { p.enqueueClaims(); p.publishCapacity() },
		DeleteFunc: func(any) { p.publishCapacity() },
	}); err != nil {
		return fmt.Errorf("local-path: watch classes: %w", err)
	}
	return nil
}

func (p *LocalPath) claimDeleted(obj any) {
	if c, ok := controller.DeletedObject[*corev1.PersistentVolumeClaim](obj); ok {
		p.backoff.forget(c.Namespace + "/" + c.Name)
		p.mu.Lock()
		delete(p.refused, c.UID)
		p.mu.Unlock()
	}
}

func (p *LocalPath) enqueueClaims() {
	for _, key := range p.factory.Core().V1().PersistentVolumeClaims().Informer().GetStore().ListKeys() {
		p.claimQ.Queue.Add(key)
	}
}

// Run makes the storage directory, then syncs until ctx ends.
func (p *LocalPath) Run(ctx context.Context) error {
	if err := os.MkdirAll(p.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("local-path: storage directory: %w", err)
	}
	p.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.client.CoreV1().Events("")})
	defer p.events.Shutdown()
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	for typ, ok := range p.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("local-path: %v cache did not sync", typ)
		}
	}
	p.opts.Log.Info("provisioning local-path volumes", "node", p.opts.NodeName, "dir", p.opts.Dir)
	go p.volumeQ.Run(ctx, 1)
	p.publishCapacity()
	go p.capacityQ.Run(ctx, 1)
	p.claimQ.Run(ctx, 2)
	return nil
}

// nodeHostname is this node's hostname label, read once the node is
// registered (the kubelet registers it; this may start first).
func (p *LocalPath) nodeHostname(ctx context.Context) (string, error) {
	p.mu.Lock()
	h := p.hostname
	p.mu.Unlock()
	if h != "" {
		return h, nil
	}
	node, err := p.client.CoreV1().Nodes().Get(ctx, p.opts.NodeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get node %s: %w", p.opts.NodeName, err)
	}
	h = Hostname(node)
	p.mu.Lock()
	p.hostname = h
	p.mu.Unlock()
	return h, nil
}

// logger is the log of one object's sync.
func (p *LocalPath) logger(kind, key string) *slog.Logger {
	return p.opts.Log.With(kind, key)
}

// getVolume reads one volume from the API, not the cache. It lists by
// name: a node may list volumes (RBAC) but get only those its pods use
// (the Node authorizer).
func (p *LocalPath) getVolume(ctx context.Context, name string) (*corev1.PersistentVolume, error) {
	list, err := p.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumes"), name)
	}
	return &list.Items[0], nil
}
