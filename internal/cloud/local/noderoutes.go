package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// RouteProtocol marks kemudi's routes in the kernel (the rtnetlink
// protocol field; `ip route show proto 107`), so that the agent removes
// only routes it made.
const RouteProtocol = netlink.RouteProtocol(107)

// NodeRoutesOptions configure the node's half of the local provider's
// routes.
type NodeRoutesOptions struct {
	// NodeName is this node: its own routes are not installed here.
	NodeName string
	// NetNSPath, when set, is the network namespace whose routes are
	// kept (tests); "" is the process's own.
	NetNSPath string
	// Resync is how often the kernel's routes are checked against the
	// table (routes deleted behind the agent's back come back).
	Resync time.Duration
	Log    *slog.Logger
}

// NodeRoutes installs, in the node's kernel, the routes the local
// provider recorded for the other nodes: pod CIDR via node address, for
// the nodes on one of this node's links. Routes it made that the table
// no longer has are removed; the routes stay when it stops, so pods keep
// talking while the agent restarts.
type NodeRoutes struct {
	opts   NodeRoutesOptions
	client kubernetes.Interface
	nl     *netlink.Handle
	nodes  corelisters.NodeLister
	kick   chan struct{}
	// offLink remembers what was logged, to say it once.
	offLink map[NodeRoute]bool
}

// RunNodeRoutes keeps the node's routes for the API server at cfg
// until ctx ends.
func RunNodeRoutes(ctx context.Context, cfg *rest.Config, o NodeRoutesOptions) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("node routes: client: %w", err)
	}
	r, err := NewNodeRoutes(client, o)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Run(ctx)
}

// NewNodeRoutes opens a netlink handle (in o.NetNSPath if set).
func NewNodeRoutes(client kubernetes.Interface, o NodeRoutesOptions) (*NodeRoutes, error) {
	if o.NodeName == "" {
		return nil, errors.New("node routes: a node name is required")
	}
	if o.Resync <= 0 {
		o.Resync = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Log = o.Log.With("component", "node-routes")
	r := &NodeRoutes{opts: o, client: client, kick: make(chan struct{}, 1), offLink: map[NodeRoute]bool{}}
	var err error
	if r.nl, err = netnsrun.Netlink(o.NetNSPath); err != nil {
		return nil, fmt.Errorf("node routes: netlink: %w", err)
	}
	return r, nil
}

// Close releases the netlink handle.
func (r *NodeRoutes) Close() { r.nl.Close() }

// Run watches the nodes and syncs on every change and every Resync.
func (r *NodeRoutes) Run(ctx context.Context) error {
	f := informers.NewSharedInformerFactory(r.client, 0)
	inf := f.Core().V1().Nodes()
	kick := func(any) {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    kick,
		UpdateFunc: func(o, n any) { r.maybeKick(o, n, kick) },
		DeleteFunc: kick,
	}); err != nil {
		return fmt.Errorf("node routes: watch nodes: %w", err)
	}
	r.nodes = inf.Lister()
	f.Start(ctx.Done())
	defer f.Shutdown()
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("node routes: cache of %v did not sync: %w", typ, ctx.Err())
		}
	}
	t := time.NewTicker(r.opts.Resync)
	defer t.Stop()
	for {
		if err := r.sync(); err != nil {
			r.opts.Log.Warn("sync routes", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-t.C:
		}
	}
}

// maybeKick syncs on what changes routes (records, pod CIDRs), not on
// every heartbeat.
func (r *NodeRoutes) maybeKick(o, n any, kick func(any)) {
	a, ok1 := o.(*corev1.Node)
	b, ok2 := n.(*corev1.Node)
	if !ok1 || !ok2 || a.Annotations[RoutesAnnotation] != b.Annotations[RoutesAnnotation] ||
		!slices.Equal(a.Spec.PodCIDRs, b.Spec.PodCIDRs) || (a.DeletionTimestamp == nil) != (b.DeletionTimestamp == nil) {
		kick(n)
	}
}

func (r *NodeRoutes) sync() error {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	want := WantedRoutes(nodes, r.opts.NodeName, r.opts.Log)
	have, err := r.kernelRoutes()
	if err != nil {
		return err
	}
	add, del, off := routePlan(want, have, r.onLink)
	var errs []error
	for _, k := range del {
		if err := r.nl.RouteDel(k.netlink()); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s via %s: %w", k.CIDR, k.Via, err))
		} else {
			r.opts.Log.Info("route removed", "cidr", k.CIDR, "via", k.Via)
		}
	}
	for _, k := range add {
		if err := r.nl.RouteReplace(k.netlink()); err != nil {
			errs = append(errs, fmt.Errorf("add route %s via %s: %w", k.CIDR, k.Via, err))
		} else {
			r.opts.Log.Info("route added", "cidr", k.CIDR, "via", k.Via)
		}
	}
	seen := map[NodeRoute]bool{}
	for _, o := range off {
		seen[o] = true
		if !r.offLink[o] {
			r.opts.Log.Info("not on this node's links: no route made, traffic follows the node's other routes", "cidr", o.CIDR, "via", o.Via)
		}
	}
	r.offLink = seen
	return errors.Join(errs...)
}

// kernelRoutes are the routes of kemudi's in the main table.
func (r *NodeRoutes) kernelRoutes() ([]KernelRoute, error) {
	var out []KernelRoute
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		list, err := r.nl.RouteListFiltered(fam, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("list routes: %w", err)
		}
		for _, rt := range list {
			if rt.Dst == nil {
				continue
			}
			k := KernelRoute{Link: rt.LinkIndex}
			k.CIDR, _ = netip.ParsePrefix(rt.Dst.String())
			k.Via, _ = netip.AddrFromSlice(rt.Gw)
			k.Via = k.Via.Unmap()
			out = append(out, k)
		}
	}
	return out, nil
}

// onLink finds the interface that reaches addr directly (the kernel's
// route to it has no gateway and is not the node's own address).
func (r *NodeRoutes) onLink(addr netip.Addr) (int, bool) {
	list, err := r.nl.RouteGet(net.IP(addr.AsSlice()))
	if err != nil || len(list) == 0 {
		return 0, false
	}
	rt := list[0]
	if rt.Gw != nil || rt.Type == unix.RTN_LOCAL || rt.LinkIndex == 0 {
		return 0, false
	}
	return rt.LinkIndex, true
}

func (k KernelRoute) netlink() *netlink.Route {
	return &netlink.Route{
		Dst:       &net.IPNet{IP: net.IP(k.CIDR.Addr().AsSlice()), Mask: net.CIDRMask(k.CIDR.Bits(), k.CIDR.Addr().BitLen())},
		Gw:        net.IP(k.Via.AsSlice()),
		LinkIndex: k.Link,
		Protocol:  RouteProtocol,
		Table:     unix.RT_TABLE_MAIN,
	}
}
