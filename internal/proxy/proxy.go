package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const sliceByService = "service"

// Proxier keeps the node's nftables in step with Services and EndpointSlices.
type Proxier struct {
	opts    Options
	client  kubernetes.Interface
	nft     *nftables.Conn
	nl      *netlink.Handle
	applier *applier
	metrics *metrics
	health  *health
	hc      *healthChecks

	services corelisters.ServiceLister
	slices   cache.Indexer

	mu        sync.Mutex
	dirty     map[string]time.Time // service key → earliest change not yet synced
	needFull  bool
	nodeCIDRs []netip.Prefix
	nodeIPs   []netip.Addr
	kick      chan struct{}

	// Owned by the sync loop.
	applied   map[string]*Ruleset
	snapshots map[string]*Service
	base      *Ruleset
}

// Run builds a Proxier for the API server at cfg and runs it until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("proxy: client: %w", err)
	}
	p, err := New(client, o)
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Run(ctx)
}

// New opens the netlink handles (in opts.NetNSPath if set).
func New(client kubernetes.Interface, o Options) (*Proxier, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := &Proxier{opts: o, client: client, metrics: newMetrics(), kick: make(chan struct{}, 1),
		dirty: map[string]time.Time{}, applied: map[string]*Ruleset{}, snapshots: map[string]*Service{},
		health: &health{timeout: 2 * o.SyncPeriod, now: time.Now},
		hc:     &healthChecks{nsPath: o.NetNSPath, log: o.Log, servers: map[int32]*hcServer{}}}
	p.hc.healthy = func() bool { ok, _ := p.health.state(); return ok }
	ns := netns.None()
	if o.NetNSPath != "" {
		h, err := netns.GetFromPath(o.NetNSPath)
		if err != nil {
			return nil, fmt.Errorf("proxy: open netns %s: %w", o.NetNSPath, err)
		}
		ns = h
		defer h.Close() // the handles below hold their own references
	}
	var err error
	nsFd := 0
	if ns.IsOpen() {
		nsFd = int(ns)
		p.nft, err = nftables.New(nftables.AsLasting(), nftables.WithNetNSFd(int(ns)), nftables.WithSockOptions(bigBuffers))
		if err == nil {
			p.nl, err = netlink.NewHandleAt(ns)
		}
	} else {
		p.nft, err = nftables.New(nftables.AsLasting(), nftables.WithSockOptions(bigBuffers))
		if err == nil {
			p.nl, err = netlink.NewHandle()
		}
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("proxy: netlink: %w", err)
	}
	if p.applier, err = newApplier(p.nft, nsFd); err != nil {
		p.Close()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return p, nil
}

// Close releases the netlink handles. The table stays: traffic keeps
// flowing while the proxy restarts.
func (p *Proxier) Close() {
	if p.nft != nil {
		_ = p.nft.CloseLasting()
	}
	if p.nl != nil {
		p.nl.Close()
	}
	if p.applier != nil {
		_ = p.applier.Close()
	}
}

// Run watches the API and syncs until ctx ends.
func (p *Proxier) Run(ctx context.Context) error {
	if err := ensureServiceRoutes(p.nl, p.opts.ServiceCIDRs); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	factory := informers.NewSharedInformerFactory(p.client, 0)
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	if err := sliceInf.Informer().AddIndexers(cache.Indexers{sliceByService: indexSliceByService}); err != nil {
		return fmt.Errorf("proxy: index slices: %w", err)
	}
	p.services, p.slices = svcInf.Lister(), sliceInf.Informer().GetIndexer()
	svcReg, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { p.serviceChanged(o) },
		UpdateFunc: func(_, o any) { p.serviceChanged(o) },
		DeleteFunc: func(o any) { p.serviceChanged(o) },
	})
	if err != nil {
		return fmt.Errorf("proxy: watch services: %w", err)
	}
	sliceReg, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { p.sliceChanged(o) },
		UpdateFunc: func(_, o any) { p.sliceChanged(o) },
		DeleteFunc: func(o any) { p.sliceChanged(o) },
	})
	if err != nil {
		return fmt.Errorf("proxy: watch endpoint slices: %w", err)
	}
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(p.client, 0,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.opts.NodeName).String()
		}))
	if _, err := nodeFactory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { p.nodeChanged(o) },
		UpdateFunc: func(_, o any) { p.nodeChanged(o) },
	}); err != nil {
		return fmt.Errorf("proxy: watch node: %w", err)
	}
	factory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer nodeFactory.Shutdown()

	if p.opts.HealthzBindAddress != "" {
		srv, err := p.serveHealthz()
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	defer p.hc.close(context.Background())

	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("proxy: cache of %v did not sync: %w", typ, ctx.Err())
		}
	}
	// The handlers too: a cache is synced before its handlers have seen
	// every object, and the objects they see after the first full sync
	// began would each be synced again (at 10,000 services, 7,000 services
	// resynced for nothing, with the first real change waiting behind).
	if !cache.WaitForCacheSync(ctx.Done(), svcReg.HasSynced, sliceReg.HasSynced) {
		return fmt.Errorf("proxy: event handlers did not sync: %w", ctx.Err())
	}
	p.opts.Log.Info("caches synced; programming", "table", "ip "+TableName, "node", p.opts.NodeName)
	return p.loop(ctx)
}

func (p *Proxier) serveHealthz() (*http.Server, error) {
	l, err := listenIn(p.opts.NetNSPath, p.opts.HealthzBindAddress)
	if err != nil {
		return nil, fmt.Errorf("proxy: healthz: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", p.health.serveHealthz)
	mux.HandleFunc("/livez", p.health.serveLivez)
	mux.Handle("/metrics", promhttp.HandlerFor(p.metrics.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.opts.Log.Error("healthz server", "err", err)
		}
	}()
	return srv, nil
}

// loop syncs whenever something changed, checks the table on SyncPeriod and
// rebuilds it on FullSyncPeriod (and first).
func (p *Proxier) loop(ctx context.Context) error {
	check := time.NewTicker(p.opts.SyncPeriod)
	defer check.Stop()
	full := time.NewTicker(p.opts.FullSyncPeriod)
	defer full.Stop()
	p.requestFull()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-full.C:
			p.requestFull()
		case <-check.C:
			p.mu.Lock()
			objects := 0
			if !p.needFull {
				objects = p.appliedObjects()
			}
			p.mu.Unlock()
			if ok, err := p.applier.Present(objects); err != nil || !ok {
				p.opts.Log.Warn("table changed behind the proxy's back; rebuilding", "err", err)
				p.requestFull()
			}
		}
		p.sync()
	}
}

func (p *Proxier) requestFull() {
	p.mu.Lock()
	p.needFull = true
	p.mu.Unlock()
	p.signal()
}

func (p *Proxier) signal() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// appliedObjects counts the chains and sets the proxy believes are in
// the kernel.
func (p *Proxier) appliedObjects() int {
	n := len(p.applier.sharedSets()) + p.applier.slots.maps()
	if p.base != nil {
		n += p.base.objects()
	}
	for _, rs := range p.applied {
		n += rs.objects()
	}
	return n
}

func (p *Proxier) markDirty(key string, at time.Time) {
	p.mu.Lock()
	if t, ok := p.dirty[key]; !ok || at.Before(t) {
		p.dirty[key] = at
	}
	p.mu.Unlock()
	p.health.queued(at)
	p.signal()
}

func (p *Proxier) serviceChanged(o any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
		p.markDirty(key, time.Now())
	}
}

func (p *Proxier) sliceChanged(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	sl, ok := o.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	name := sl.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return
	}
	at := time.Now()
	if v, ok := sl.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.Before(at) {
			at = t
		}
	}
	p.markDirty(sl.Namespace+"/"+name, at)
}

func (p *Proxier) nodeChanged(o any) {
	n, ok := o.(*corev1.Node)
	if !ok {
		return
	}
	p.health.setNodeDeleting(n.DeletionTimestamp != nil)
	var cidrs []netip.Prefix
	for _, c := range n.Spec.PodCIDRs {
		if pr, err := netip.ParsePrefix(c); err == nil {
			cidrs = append(cidrs, pr)
		}
	}
	var ips []netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			ips = append(ips, ip)
		}
	}
	p.mu.Lock()
	changed := !slices.Equal(cidrs, p.nodeCIDRs) && len(p.opts.ClusterCIDRs) == 0
	changed = changed || !slices.Equal(ips, p.nodeIPs)
	p.nodeCIDRs, p.nodeIPs = cidrs, ips
	p.mu.Unlock()
	if changed {
		p.requestFull() // Compute's input changed for every service
	}
}

func indexSliceByService(o any) ([]string, error) {
	sl, ok := o.(*discoveryv1.EndpointSlice)
	if !ok || sl.Labels[discoveryv1.LabelServiceName] == "" {
		return nil, nil
	}
	return []string{sl.Namespace + "/" + sl.Labels[discoveryv1.LabelServiceName]}, nil
}
