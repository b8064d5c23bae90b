package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-helpers/node/topology"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "node-lifecycle"

// excludeDisruptionLabel keeps a node out of the zone health counts.
const excludeDisruptionLabel = "node.kubernetes.io/exclude-disruption"

// Controller is the node lifecycle controller.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	leases   coordinationlisters.LeaseLister
	pods     cache.Indexer
	recorder record.EventRecorder
	log      *slog.Logger
	opts     controller.Options
	now      func() time.Time

	// taints keeps each node's NoSchedule condition taints and labels in
	// step with its status; podsLoop marks pods that land on a node that
	// is not ready.
	taints   *controller.Loop
	podsLoop *controller.Loop

	mu       sync.Mutex
	health   map[string]*health
	known    map[string]bool
	zones    map[string]zoneState
	limiters map[string]*zoneLimiter
	// retryPods holds nodes whose pods could not all be marked not ready.
	retryPods map[string]bool
}

type zoneLimiter struct {
	qps float32
	rl  flowcontrol.RateLimiter
}

// New builds the node lifecycle controller.
func New(c *controller.Context) (*Controller, error) {
	nodeInf := c.Informers.Core().V1().Nodes()
	leaseInf := c.Informers.Coordination().V1().Leases()
	podInf := c.Informers.Core().V1().Pods()
	if err := controller.AddPodNodeIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	nc := &Controller{
		client:    c.Client,
		nodes:     nodeInf.Lister(),
		leases:    leaseInf.Lister(),
		pods:      podInf.Informer().GetIndexer(),
		recorder:  c.Recorder("node-controller"),
		log:       c.Logger(Name),
		opts:      c.Options,
		now:       c.Clock.Now,
		health:    map[string]*health{},
		known:     map[string]bool{},
		zones:     map[string]zoneState{},
		limiters:  map[string]*zoneLimiter{},
		retryPods: map[string]bool{},
	}
	if nc.opts.NodeMonitorPeriod <= 0 {
		nc.opts.NodeMonitorPeriod = controller.DefaultOptions().NodeMonitorPeriod
	}
	nc.taints = c.NewLoop(Name, nc.syncNodeTaints, nc.log)
	nc.podsLoop = c.NewLoop(Name+"-pods", nc.syncPod, nc.log)
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: nc.taints.Enqueue,
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Node), obj.(*corev1.Node)
			if o.Spec.Unschedulable != n.Spec.Unschedulable || !sameConditionStatuses(o, n) || !sameTaints(o.Spec.Taints, n.Spec.Taints) || !sameLabels(o.Labels, n.Labels) {
				nc.taints.Enqueue(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				nc.podsLoop.Enqueue(obj)
			}
		},
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Pod), obj.(*corev1.Pod)
			if n.Spec.NodeName != "" && o.Spec.NodeName != n.Spec.NodeName {
				nc.podsLoop.Enqueue(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	return nc, nil
}

// Run monitors node health every NodeMonitorPeriod until ctx ends.
func (nc *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); nc.taints.Run(ctx, 4) }()
	go func() { defer wg.Done(); nc.podsLoop.Run(ctx, 2) }()
	t := time.NewTicker(nc.opts.NodeMonitorPeriod)
	defer t.Stop()
	for {
		if err := nc.monitor(ctx); err != nil && ctx.Err() == nil {
			nc.log.Error("monitor node health", "err", err)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// monitor is one pass over every node: mark the silent ones unknown,
// mark the pods of nodes that stopped being ready not ready, then set
// the NoExecute taints the nodes' Ready conditions call for.
func (nc *Controller) monitor(ctx context.Context) error {
	nodes, err := nc.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	nc.classify(nodes)

	type result struct {
		node  *corev1.Node
		ready corev1.ConditionStatus
	}
	results := make([]*result, len(nodes))
	workqueue.ParallelizeUntil(ctx, 8, len(nodes), func(i int) {
		node, ready, ok := nc.checkHealth(ctx, nodes[i])
		if ok {
			results[i] = &result{node: node, ready: ready}
		}
	})

	byZone := map[string][]corev1.ConditionStatus{}
	sizes := map[string]int{}
	for _, r := range results {
		if r == nil {
			continue
		}
		z := topology.GetZoneKey(r.node)
		sizes[z]++
		if _, excluded := r.node.Labels[excludeDisruptionLabel]; !excluded {
			byZone[z] = append(byZone[z], r.ready)
		}
	}
	allFull, entering := nc.updateZones(byZone, sizes)
	if entering {
		nc.log.Info("all nodes are not ready: entering master disruption mode; no NoExecute taints until one is back")
	}
	for _, r := range results {
		if r == nil {
			continue
		}
		if err := nc.reconcileNoExecute(ctx, r.node, r.ready, allFull); err != nil {
			nc.log.Warn("NoExecute taints", "node", r.node.Name, "err", err)
		}
	}
	return nil
}

// classify records RegisteredNode and RemovingNode events for nodes the
// controller sees come and go.
func (nc *Controller) classify(nodes []*corev1.Node) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		seen[n.Name] = true
		if !nc.known[n.Name] {
			nc.known[n.Name] = true
			nc.nodeEvent(n.Name, n.UID, corev1.EventTypeNormal, "RegisteredNode", fmt.Sprintf("Registered Node %s in Controller", n.Name))
		}
	}
	for name := range nc.known {
		if !seen[name] {
			delete(nc.known, name)
			delete(nc.health, name)
			delete(nc.retryPods, name)
			nc.nodeEvent(name, "", corev1.EventTypeNormal, "RemovingNode", fmt.Sprintf("Removing Node %s from Controller", name))
		}
	}
}

// checkHealth updates a node's record and, when it was silent past its
// grace period, sets its conditions Unknown. It returns the node as it
// now is and its Ready status.
func (nc *Controller) checkHealth(ctx context.Context, cached *corev1.Node) (*corev1.Node, corev1.ConditionStatus, bool) {
	node := cached.DeepCopy()
	lease, err := nc.leases.Leases(corev1.NamespaceNodeLease).Get(node.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		nc.log.Warn("read node lease", "node", node.Name, "err", err)
	}
	if err != nil {
		lease = nil
	}
	now := nc.now()
	nc.mu.Lock()
	h := observe(nc.health[node.Name], node, lease, now)
	nc.health[node.Name] = h
	nc.mu.Unlock()

	observed := corev1.ConditionUnknown
	if c := condition(node.Status.Conditions, corev1.NodeReady); c != nil {
		observed = c.Status
	}
	grace := nc.opts.NodeMonitorGracePeriod
	if condition(node.Status.Conditions, corev1.NodeReady) == nil {
		grace = nc.opts.NodeStartupGracePeriod
	}
	if now.After(h.probe.Add(grace)) && markUnknown(node, metav1.NewTime(now)) {
		updated, err := nc.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				nc.log.Warn("mark node status unknown", "node", node.Name, "err", err)
			}
			return nil, "", false
		}
		node = updated
		nc.log.Info("node stopped posting status", "node", node.Name, "silentFor", now.Sub(h.probe).Round(time.Millisecond))
		nc.mu.Lock()
		// Our own write is not news from the node.
		if c := condition(node.Status.Conditions, corev1.NodeReady); c != nil {
			cc := *c
			h.ready = &cc
		}
		nc.mu.Unlock()
	}
	current := corev1.ConditionUnknown
	if c := condition(node.Status.Conditions, corev1.NodeReady); c != nil {
		current = c.Status
	}

	nc.mu.Lock()
	retry := nc.retryPods[node.Name]
	nc.mu.Unlock()
	if current != corev1.ConditionTrue && (observed == corev1.ConditionTrue || retry) {
		if observed == corev1.ConditionTrue {
			nc.statusEvent(node, "NodeNotReady")
		}
		err := nc.markPodsNotReady(ctx, node.Name)
		nc.mu.Lock()
		if err != nil {
			nc.retryPods[node.Name] = true
			nc.log.Warn("mark pods not ready", "node", node.Name, "err", err)
		} else {
			delete(nc.retryPods, node.Name)
		}
		nc.mu.Unlock()
	}
	return node, current, true
}

// updateZones computes each zone's state and swaps the zones' tainting
// rates; it reports whether every zone is fully disrupted and whether
// that just began (then every NoExecute taint comes off, as upstream).
func (nc *Controller) updateZones(byZone map[string][]corev1.ConditionStatus, sizes map[string]int) (allFull, entering bool) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	wasAllFull := len(nc.zones) > 0
	for _, s := range nc.zones {
		if s != zoneFullDisruption {
			wasAllFull = false
		}
	}
	allFull = len(byZone) > 0
	next := map[string]zoneState{}
	for z, statuses := range byZone {
		s := computeZoneState(statuses)
		next[z] = s
		if s != zoneFullDisruption {
			allFull = false
		}
	}
	for z, s := range next {
		if old, ok := nc.zones[z]; !ok || old != s {
			if ok {
				nc.log.Info("zone changed state", "zone", z, "state", s)
			}
		}
		qps := zoneTaintQPS(s, sizes[z])
		if l, ok := nc.limiters[z]; !ok || l.qps != qps {
			nc.limiters[z] = newZoneLimiter(qps)
		}
	}
	if wasAllFull && !allFull {
		// Leaving disruption mode: every node gets a fresh grace period.
		now := nc.now()
		for _, h := range nc.health {
			h.probe = now
		}
	}
	nc.zones = next
	return allFull, allFull && !wasAllFull
}

func newZoneLimiter(qps float32) *zoneLimiter {
	if qps <= 0 {
		return &zoneLimiter{qps: qps, rl: flowcontrol.NewFakeNeverRateLimiter()}
	}
	return &zoneLimiter{qps: qps, rl: flowcontrol.NewTokenBucketRateLimiter(qps, 1)}
}

// reconcileNoExecute gives a node the NoExecute taint its Ready status
// calls for: unreachable for Unknown, not-ready for False, none for True.
// Swapping one for the other and removing are immediate; adding is
// rate-limited per zone, and stops when every zone is disrupted.
func (nc *Controller) reconcileNoExecute(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus, allFull bool) error {
	add, remove := noExecuteChange(ready)
	if allFull {
		add = nil
		remove = []corev1.Taint{unreachableTaint, notReadyTaint}
	}
	if add != nil && !hasTaint(node.Spec.Taints, *add) {
		swapping := false
		for _, r := range remove {
			swapping = swapping || hasTaint(node.Spec.Taints, r)
		}
		if !swapping {
			nc.mu.Lock()
			l := nc.limiters[topology.GetZoneKey(node)]
			nc.mu.Unlock()
			if l == nil || !l.rl.TryAccept() {
				add = nil // next pass
			}
		}
	}
	if _, changed := swapTaints(node.Spec.Taints, add, remove); !changed {
		return nil
	}
	return nc.updateTaints(ctx, node.Name, func(taints []corev1.Taint) ([]corev1.Taint, bool) {
		a := add
		if a != nil {
			t := *a
			now := metav1.NewTime(nc.now())
			t.TimeAdded = &now
			a = &t
		}
		return swapTaints(taints, a, remove)
	})
}

// syncNodeTaints keeps a node's NoSchedule condition taints (and the beta
// OS and arch labels) in step with its status.
func (nc *Controller) syncNodeTaints(ctx context.Context, name string) error {
	node, err := nc.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	want := noScheduleTaints(node)
	if _, changed := reconcileNoSchedule(node.Spec.Taints, want); changed {
		if err := nc.updateTaints(ctx, name, func(taints []corev1.Taint) ([]corev1.Taint, bool) {
			return reconcileNoSchedule(taints, want)
		}); err != nil {
			return err
		}
	}
	if missing := missingBetaLabels(node.Labels); len(missing) > 0 {
		return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			n, err := nc.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			add := missingBetaLabels(n.Labels)
			if len(add) == 0 {
				return nil
			}
			for k, v := range add {
				n.Labels[k] = v
			}
			_, err = nc.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		})
	}
	return nil
}

// missingBetaLabels are the beta OS and arch labels a node lacks or has
// out of step with the stable ones.
func missingBetaLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for stable, beta := range map[string]string{corev1.LabelOSStable: "beta.kubernetes.io/os", corev1.LabelArchStable: "beta.kubernetes.io/arch"} {
		if v, ok := l[stable]; ok && l[beta] != v {
			out[beta] = v
		}
	}
	return out
}

// updateTaints changes a node's taints with change, reading the node again
// on conflicts.
func (nc *Controller) updateTaints(ctx context.Context, name string, change func([]corev1.Taint) ([]corev1.Taint, bool)) error {
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var node *corev1.Node
		var err error
		if first {
			node, err = nc.nodes.Get(name)
			if err == nil {
				node = node.DeepCopy()
			}
			first = false
		} else {
			node, err = nc.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		}
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		taints, changed := change(node.Spec.Taints)
		if !changed {
			return nil
		}
		node.Spec.Taints = taints
		_, err = nc.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// markPodsNotReady sets the Ready condition of a node's pods False, as
// upstream does when a node stops being ready.
func (nc *Controller) markPodsNotReady(ctx context.Context, nodeName string) error {
	pods, err := controller.PodsOnNode(nc.pods, nodeName)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pods {
		if err := nc.markPodNotReady(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d pods: first error: %w", len(errs), errs[0])
	}
	return nil
}

func (nc *Controller) markPodNotReady(ctx context.Context, cached *corev1.Pod) error {
	i := podConditionIndex(cached, corev1.PodReady)
	if i < 0 || cached.Status.Conditions[i].Status == corev1.ConditionFalse {
		return nil
	}
	p := cached.DeepCopy()
	p.Status.Conditions[i].Status = corev1.ConditionFalse
	p.Status.Conditions[i].LastTransitionTime = metav1.NewTime(nc.now())
	if _, err := nc.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	nc.recorder.Event(p, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	return nil
}

// syncPod marks a pod not ready when it was bound to a node that is not
// ready (a pod the monitor pass did not see yet).
func (nc *Controller) syncPod(ctx context.Context, key string) error {
	obj, ok, err := nc.pods.GetByKey(key)
	if err != nil || !ok {
		return err
	}
	pod := obj.(*corev1.Pod)
	node, err := nc.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if c := condition(node.Status.Conditions, corev1.NodeReady); c == nil || c.Status == corev1.ConditionTrue {
		return nil
	}
	return nc.markPodNotReady(ctx, pod)
}

func podConditionIndex(p *corev1.Pod, typ corev1.PodConditionType) int {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return i
		}
	}
	return -1
}

// nodeEvent records an event about a node as upstream's RecordNodeEvent
// ("Node X event: ...").
func (nc *Controller) nodeEvent(name string, uid types.UID, typ, reason, msg string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: uid}
	nc.recorder.Eventf(ref, typ, reason, "Node %s event: %s", name, msg)
}

// statusEvent records a node status change ("Node X status is now: S").
func (nc *Controller) statusEvent(node *corev1.Node, status string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	nc.recorder.Eventf(ref, corev1.EventTypeNormal, status, "Node %s status is now: %s", node.Name, status)
}

func sameConditionStatuses(a, b *corev1.Node) bool {
	if len(a.Status.Conditions) != len(b.Status.Conditions) {
		return false
	}
	for i := range a.Status.Conditions {
		if a.Status.Conditions[i].Type != b.Status.Conditions[i].Type || a.Status.Conditions[i].Status != b.Status.Conditions[i].Status {
			return false
		}
	}
	return true
}

func sameTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Effect != b[i].Effect || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
