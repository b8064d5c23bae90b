package simnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/controller"
)

// LeaseNamespace holds the nodes' leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Nodes is a set of simulated nodes and the kubelet that runs them.
type Nodes struct {
	client kubernetes.Interface
	opts   Options
	err    error // from the options
	log    *slog.Logger

	mu    sync.RWMutex
	nodes map[string]*simNode
	names []string // in index order

	heartbeats workqueue.TypedDelayingInterface[string]
	pods       *controller.Loop
	podIndex   cache.Indexer

	started bool
	wg      sync.WaitGroup
}

// simNode is one simulated node's state.
type simNode struct {
	name  string
	index int
	ip    string
	ips   *podIPs

	// acting is held (read) while the node renews its lease, reports
	// its status or acts on a pod, and (write) by Kill and Delete: once
	// they return, the node does nothing more.
	acting sync.RWMutex

	mu          sync.Mutex
	uid         types.UID
	killed      bool
	deleted     bool
	ready       bool
	statusDue   bool        // report the status at the next heartbeat
	started     metav1.Time // registered or revived: the conditions' transition
	readySince  metav1.Time
	lastStatus  time.Time
	lease       *coordinationv1.Lease
	cidrs       []netip.Prefix
	allocatable corev1.ResourceList
	admitted    map[types.UID]corev1.ResourceList
	used        corev1.ResourceList
}

// New returns count simulated nodes on client; Start registers them.
// Lift client's rate limits (NewForConfig does): a thousand nodes renew
// a hundred leases a second.
func New(client kubernetes.Interface, opts Options) *Nodes {
	o, err := opts.withDefaults()
	s := &Nodes{client: client, opts: o, err: err, log: o.Log.With("component", "sim-nodes"), nodes: map[string]*simNode{}}
	if err == nil && o.Count > MaxCount {
		s.err = fmt.Errorf("count %d: at most %d nodes", o.Count, MaxCount)
	}
	return s
}

// NewForConfig is New on a client of its own for cfg: protobuf, without
// client-side rate limits.
func NewForConfig(cfg *rest.Config, opts Options) (*Nodes, error) {
	c := ClientConfig(cfg)
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("sim-nodes client: %w", err)
	}
	return New(client, opts), nil
}

// ClientConfig is cfg for simulated nodes: protobuf, no client-side rate
// limits, and a user agent of its own.
func ClientConfig(cfg *rest.Config) *rest.Config {
	return apiclient.Unlimited(cfg, "kemudi-sim-nodes")
}

// Names are the nodes' names, in index order (known once Start
// returned).
func (s *Nodes) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.names...)
}

// Start registers the nodes (creating each Node and its Lease, or taking
// over those that exist) and starts heartbeats and the kubelet; it
// returns once every node is registered and the kubelet has seen every
// pod bound to them. Everything stops when ctx ends: then Wait.
func (s *Nodes) Start(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("sim-nodes: already started")
	}
	s.started = true
	s.mu.Unlock()

	start := time.Now()
	if err := s.registerAll(ctx); err != nil {
		return err
	}
	registered := time.Since(start)

	s.heartbeats = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "sim-node-heartbeats"})
	if !s.opts.LeavePods {
		s.pods = controller.NewLoop("sim-node-pods", s.syncPod, s.log)
		if err := s.startInformers(ctx); err != nil {
			return err
		}
		s.wg.Go(func() { s.pods.Run(ctx, s.opts.Workers) })
	}
	// Spread the renewals over the interval, not all at once.
	n := len(s.names)
	for i, name := range s.names {
		s.heartbeats.AddAfter(name, time.Duration(int64(s.opts.RenewInterval)*int64(i)/int64(n)))
	}
	for range s.opts.HeartbeatWorkers {
		s.wg.Go(func() {
			for s.nextHeartbeat(ctx) {
			}
		})
	}
	s.wg.Go(func() {
		<-ctx.Done()
		s.heartbeats.ShutDown()
	})
	s.log.Info("nodes registered", "count", len(s.names), "registration", registered.Round(time.Millisecond),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Wait waits for everything Start started to stop, after ctx ended.
func (s *Nodes) Wait() { s.wg.Wait() }

// registerAll registers every node, a few at a time.
func (s *Nodes) registerAll(ctx context.Context) error {
	count := s.opts.Count
	built := make([]*corev1.Node, count)
	now := metav1.Now()
	s.mu.Lock()
	for i := range count {
		node := newNode(s.opts, i, now)
		if _, dup := s.nodes[node.Name]; dup {
			s.mu.Unlock()
			return fmt.Errorf("node %d: name %q used twice", i, node.Name)
		}
		built[i] = node
		n := &simNode{
			name: node.Name, index: i, ip: nodeIP(i).String(), ips: newPodIPs(),
			ready: true, started: now, readySince: now,
			// Spread the status reports over the interval too.
			lastStatus: now.Add(-time.Duration(int64(s.opts.StatusInterval) * int64(i) / int64(count))),
			admitted:   map[types.UID]corev1.ResourceList{}, used: corev1.ResourceList{},
		}
		s.nodes[node.Name] = n
		s.names = append(s.names, node.Name)
	}
	s.mu.Unlock()

	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(32, max(count, 1)) {
		wg.Go(func() {
			for i := range work {
				if err := s.register(ctx, built[i]); err != nil {
					select {
					case errs <- fmt.Errorf("register node %s: %w", built[i].Name, err):
					default:
					}
					cancel()
				}
			}
		})
	}
feed:
	for i := range count {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// register creates one Node (or takes over the one that exists, as a
// restarted kubelet does) and its Lease.
func (s *Nodes) register(ctx context.Context, node *corev1.Node) error {
	n := s.node(node.Name)
	nodes := s.client.CoreV1().Nodes()
	got, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = s.takeOver(ctx, node)
	}
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.uid = got.UID
	n.allocatable = got.Status.Allocatable.DeepCopy()
	n.cidrs = parseCIDRs(got.Spec.PodCIDRs)
	n.mu.Unlock()
	return s.ensureLease(ctx, n, time.Now())
}

// takeOver reports node's status on the Node that already exists.
func (s *Nodes) takeOver(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	patch, err := statusPatch(node.Status)
	if err != nil {
		return nil, err
	}
	return s.client.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
}

func (s *Nodes) node(name string) *simNode {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nodes[name]
}

func (s *Nodes) mustNode(name string) (*simNode, error) {
	n := s.node(name)
	if n == nil {
		return nil, fmt.Errorf("no simulated node %q", name)
	}
	return n, nil
}

// Kill stops a node, as if its kubelet died: no more lease renewals,
// status reports or pod updates, until Revive. A renewal or update in
// flight finishes before Kill returns.
func (s *Nodes) Kill(name string) error {
	n, err := s.mustNode(name)
	if err != nil {
		return err
	}
	n.acting.Lock()
	n.mu.Lock()
	n.killed = true
	n.mu.Unlock()
	n.acting.Unlock()
	s.log.Info("node killed", "node", name)
	return nil
}

// Revive restarts a killed node: it renews its lease and reports its
// status at once, and acts on its pods again.
func (s *Nodes) Revive(name string) error {
	n, err := s.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	was := n.killed
	n.killed = false
	if was {
		// The node lifecycle controller has likely set the conditions
		// Unknown meanwhile: they change again now.
		n.started = metav1.Now()
		n.readySince = n.started
		n.statusDue = true
	}
	n.mu.Unlock()
	if was && s.heartbeats != nil {
		s.heartbeats.Add(name)
		s.enqueuePodsOf(name)
	}
	s.log.Info("node revived", "node", name)
	return nil
}

// SetReady makes a node report Ready true or false (reason
// KubeletNotReady) at once; its lease keeps being renewed.
func (s *Nodes) SetReady(name string, ready bool) error {
	n, err := s.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	if n.ready != ready {
		n.ready = ready
		n.readySince = metav1.Now()
		n.statusDue = true
	}
	live := !n.killed && !n.deleted
	n.mu.Unlock()
	if live && s.heartbeats != nil {
		s.heartbeats.Add(name)
	}
	return nil
}

// Delete removes a node: its Node and Lease are deleted and it stops
// for good.
func (s *Nodes) Delete(ctx context.Context, name string) error {
	n, err := s.mustNode(name)
	if err != nil {
		return err
	}
	n.acting.Lock()
	n.mu.Lock()
	n.deleted = true
	n.mu.Unlock()
	n.acting.Unlock()
	err = s.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	err = s.client.CoordinationV1().Leases(LeaseNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete lease %s: %w", name, err)
	}
	return nil
}

// live reports whether the node acts: not killed, not deleted.
func (n *simNode) live() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.killed && !n.deleted
}

// podRanges are the ranges the node's pod IPs come from.
func (n *simNode) podRanges() []netip.Prefix {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.cidrs) > 0 {
		return n.cidrs
	}
	return []netip.Prefix{fakePodCIDR(n.index)}
}

func parseCIDRs(cidrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}
