package announce

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// Component names the announcer in events and logs.
const Component = "lb-announcer"

// Options configure a node's announcer.
type Options struct {
	// NodeName is this node.
	NodeName string
	// NetNSPath, when set, is the network namespace whose interface
	// answers (tests); "" is the process's own.
	NetNSPath string
	// Resync is how often the state is recomputed without a change.
	Resync time.Duration
	// Repeats is how many gratuitous announcements a takeover sends,
	// Interval apart: one lost frame must not leave clients at the old
	// node.
	Repeats  int
	Interval time.Duration
	Log      *slog.Logger
}

func (o *Options) defaults() {
	if o.Resync <= 0 {
		o.Resync = 30 * time.Second
	}
	if o.Repeats <= 0 {
		o.Repeats = 3
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Log = o.Log.With("component", Component)
}

// Announcer answers, on its node's interface, for the load-balancer
// addresses its node is elected for.
type Announcer struct {
	opts     Options
	client   kubernetes.Interface
	factory  informers.SharedInformerFactory
	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	events   record.EventBroadcaster
	recorder record.EventRecorder
	nl       *netlink.Handle
	kick     chan struct{}

	// owned is what the responder answers for: stored by the sync loop
	// only, read by the responder too.
	owned  atomic.Pointer[map[netip.Addr]types.NamespacedName]
	resp   *responder
	marked bool
	wg     sync.WaitGroup
}

// Run announces for the API server at cfg until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("%s: client: %w", Component, err)
	}
	a, err := New(client, o)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// New prepares an announcer; Run starts it.
func New(client kubernetes.Interface, o Options) (*Announcer, error) {
	if o.NodeName == "" {
		return nil, fmt.Errorf("%s: a node name is required", Component)
	}
	o.defaults()
	nl, err := netnsrun.Netlink(o.NetNSPath)
	if err != nil {
		return nil, fmt.Errorf("%s: netlink: %w", Component, err)
	}
	f := informers.NewSharedInformerFactory(client, 0)
	a := &Announcer{
		opts: o, client: client, factory: f, nl: nl,
		services: f.Core().V1().Services().Lister(),
		nodes:    f.Core().V1().Nodes().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		events:   record.NewBroadcaster(),
		kick:     make(chan struct{}, 1),
	}
	a.recorder = a.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Component, Host: o.NodeName})
	return a, nil
}

// Run syncs on every change of Services, EndpointSlices and Nodes, and
// every Resync. When it ends, the node's mark comes off first, so that
// the others take its addresses over at once.
func (a *Announcer) Run(ctx context.Context) error {
	defer a.nl.Close()
	kick := func(any) {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: kick, UpdateFunc: func(_, n any) { kick(n) }, DeleteFunc: kick}
	for _, inf := range []cache.SharedIndexInformer{
		a.factory.Core().V1().Services().Informer(),
		a.factory.Core().V1().Nodes().Informer(),
		a.factory.Discovery().V1().EndpointSlices().Informer(),
	} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("%s: watch: %w", Component, err)
		}
	}
	a.factory.Start(ctx.Done())
	defer a.factory.Shutdown()
	for typ, ok := range a.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("%s: cache of %v did not sync: %w", Component, typ, context.Cause(ctx))
		}
	}
	a.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer a.events.Shutdown()
	defer a.stop()
	a.opts.Log.Info("announcing load-balancer addresses by ARP and NDP", "node", a.opts.NodeName)
	t := time.NewTicker(a.opts.Resync)
	defer t.Stop()
	for {
		if err := a.sync(ctx); err != nil && ctx.Err() == nil {
			a.opts.Log.Warn("sync", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		case <-t.C:
		}
	}
}

// sync makes the node answer for what Plan says it announces.
func (a *Announcer) sync(ctx context.Context) error {
	self, err := a.nodes.Get(a.opts.NodeName)
	if apierrors.IsNotFound(err) {
		a.apply(ctx, nil)
		return nil
	}
	if err != nil {
		return err
	}
	if self.Annotations[AnnotationKey] != "true" {
		// Elected only once the mark is seen: the patch comes back as an
		// update of the node.
		a.apply(ctx, nil)
		return a.mark(ctx)
	}
	if err := a.ensureResponder(self); err != nil {
		a.apply(ctx, nil)
		return err
	}
	var s Snapshot
	if s.Services, err = a.services.List(labels.Everything()); err != nil {
		return err
	}
	if s.Nodes, err = a.nodes.List(labels.Everything()); err != nil {
		return err
	}
	if s.Slices, err = a.slices.List(labels.Everything()); err != nil {
		return err
	}
	a.apply(ctx, Plan(a.opts.NodeName, s))
	return nil
}

// ensureResponder answers on the interface of the node's InternalIP,
// moving when it moves.
func (a *Announcer) ensureResponder(self *corev1.Node) error {
	ifi, err := findLink(a.nl, internalIPs(self))
	if err != nil {
		return err
	}
	if a.resp != nil && a.resp.ifi.Index == ifi.Index && a.resp.ifi.HardwareAddr.String() == ifi.HardwareAddr.String() {
		return nil
	}
	a.closeResponder()
	r, err := openResponder(a.opts.NetNSPath, ifi, a.owns, a.opts.Log)
	if err != nil {
		return err
	}
	a.resp = r
	a.opts.Log.Info("answering on the node's interface", "interface", ifi.Name, "mac", ifi.HardwareAddr.String())
	return nil
}

// announced is what the node answers for now.
func (a *Announcer) announced() map[netip.Addr]types.NamespacedName {
	if m := a.owned.Load(); m != nil {
		return *m
	}
	return nil
}

// owns says whether the node answers for addr now.
func (a *Announcer) owns(addr netip.Addr) bool {
	_, ok := a.announced()[addr.Unmap()]
	return ok
}

// apply moves from the addresses announced to want: withdrawn ones are
// no longer answered, new ones are answered and announced gratuitously,
// with an event on their service.
func (a *Announcer) apply(ctx context.Context, want map[netip.Addr]types.NamespacedName) {
	current := a.announced()
	for addr, svc := range current {
		if _, keep := want[addr]; keep {
			continue
		}
		if err := a.resp.leave(addr); err != nil {
			a.opts.Log.Warn("withdraw", "address", addr, "err", err)
		}
		a.opts.Log.Info("no longer announcing", "address", addr, "service", svc.String())
	}
	var taken []netip.Addr
	for addr := range want {
		if _, had := current[addr]; had {
			continue
		}
		if err := a.resp.join(addr); err != nil {
			a.opts.Log.Warn("announce", "address", addr, "err", err)
		}
		taken = append(taken, addr)
	}
	a.owned.Store(&want)
	for _, addr := range taken {
		svc := want[addr]
		a.opts.Log.Info("announcing", "address", addr, "service", svc.String(), "interface", a.resp.ifi.Name)
		if obj, err := a.services.Services(svc.Namespace).Get(svc.Name); err == nil {
			// MetalLB's event, word for word.
			a.recorder.Eventf(obj, corev1.EventTypeNormal, "nodeAssigned", "announcing from node %q with protocol %q", a.opts.NodeName, "layer2")
		}
		a.wg.Add(1)
		go a.announce(ctx, a.resp, addr)
	}
}

// announce sends Repeats gratuitous announcements of addr, Interval
// apart, while the node still has it.
func (a *Announcer) announce(ctx context.Context, r *responder, addr netip.Addr) {
	defer a.wg.Done()
	for i := 0; i < a.opts.Repeats && a.owns(addr); i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(a.opts.Interval):
			}
		}
		if err := r.gratuitous(addr); err != nil && a.owns(addr) {
			a.opts.Log.Warn("gratuitous announcement", "address", addr, "err", err)
		}
	}
}

// stop takes the node's mark off, so that the others take over, then
// stops answering.
func (a *Announcer) stop() {
	if a.marked {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.patchMark(ctx, false); err != nil && !apierrors.IsNotFound(err) {
			a.opts.Log.Warn("remove the node's announcer mark: other nodes take over when it goes NotReady", "err", err)
		}
	}
	a.closeResponder()
}

// closeResponder withdraws every address and closes the sockets.
func (a *Announcer) closeResponder() {
	a.owned.Store(nil)
	a.wg.Wait()
	if a.resp != nil {
		a.resp.Close()
		a.resp = nil
	}
}

func (a *Announcer) mark(ctx context.Context) error {
	if err := a.patchMark(ctx, true); err != nil {
		return fmt.Errorf("mark the node as announcing: %w", err)
	}
	a.marked = true
	return nil
}

// patchMark sets the node's mark, or with on false removes it.
func (a *Announcer) patchMark(ctx context.Context, on bool) error {
	val := "null" // a merge patch's removal
	if on {
		val = `"true"`
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, AnnotationKey, val)
	_, err := a.client.CoreV1().Nodes().Patch(ctx, a.opts.NodeName, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}
