package simnode

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/controller"
)

// byNode indexes pods by spec.nodeName.
const byNode = "node"

// startInformers starts the one pod informer (every pod bound to a
// node, ours or not: one watch for all the nodes) and the node informer
// (for spec.podCIDRs and deletions), and waits until they have synced
// and their handlers have seen every object.
func (s *Nodes) startInformers(ctx context.Context) error {
	podFactory := informers.NewSharedInformerFactoryWithOptions(s.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName!=" }))
	podInformer := podFactory.Core().V1().Pods().Informer()
	nodeFactory := informers.NewSharedInformerFactory(s.client, 0)
	nodeInformer := nodeFactory.Core().V1().Nodes().Informer()

	if err := podInformer.SetTransform(dropManagedFields); err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	if err := nodeInformer.SetTransform(nodeCIDRsOnly); err != nil {
		return fmt.Errorf("node informer: %w", err)
	}
	if err := podInformer.AddIndexers(cache.Indexers{byNode: func(obj interface{}) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	s.podIndex = podInformer.GetIndexer()
	podReg, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.podSeen,
		UpdateFunc: func(_, obj interface{}) { s.podSeen(obj) },
		DeleteFunc: s.podGone,
	})
	if err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	nodeReg, err := nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.nodeSeen,
		UpdateFunc: func(_, obj interface{}) { s.nodeSeen(obj) },
		DeleteFunc: s.nodeGone,
	})
	if err != nil {
		return fmt.Errorf("node informer: %w", err)
	}
	podFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	s.wg.Go(func() {
		<-ctx.Done()
		podFactory.Shutdown()
		nodeFactory.Shutdown()
	})
	if !cache.WaitForCacheSync(ctx.Done(), podReg.HasSynced, nodeReg.HasSynced) {
		return fmt.Errorf("informers did not sync: %w", context.Cause(ctx))
	}
	return nil
}

// dropManagedFields keeps the cache small; a status update without
// managedFields keeps the stored ones.
func dropManagedFields(obj interface{}) (interface{}, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// nodeCIDRsOnly keeps of a node only what the pods need: its pod CIDRs.
func nodeCIDRsOnly(obj interface{}) (interface{}, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion},
		Spec:       corev1.NodeSpec{PodCIDR: n.Spec.PodCIDR, PodCIDRs: n.Spec.PodCIDRs},
	}, nil
}

func (s *Nodes) nodeSeen(obj interface{}) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	n := s.node(node.Name)
	if n == nil {
		return
	}
	cidrs := parseCIDRs(node.Spec.PodCIDRs)
	n.mu.Lock()
	n.cidrs = cidrs
	n.mu.Unlock()
}

// nodeGone stops a node someone else deleted; a node re-created with
// the same name (it has another uid) is not ours.
func (s *Nodes) nodeGone(obj interface{}) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	n := s.node(node.Name)
	if n == nil {
		return
	}
	n.mu.Lock()
	stop := !n.deleted && (node.UID == n.uid || node.UID == "")
	if stop {
		n.deleted = true
	}
	n.mu.Unlock()
	if stop {
		s.log.Info("node deleted; stopping it", "node", node.Name)
	}
}

// podSeen enqueues a pod bound to one of our nodes, and records what it
// already holds: its IPs, and its resources once admitted.
func (s *Nodes) podSeen(obj interface{}) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n := s.node(pod.Spec.NodeName)
	if n == nil {
		return
	}
	if len(pod.Status.PodIPs) > 0 && !pod.Spec.HostNetwork {
		ips := make([]string, len(pod.Status.PodIPs))
		for i, ip := range pod.Status.PodIPs {
			ips[i] = ip.IP
		}
		n.ips.reserve(pod.UID, ips)
	}
	switch pod.Status.Phase {
	case corev1.PodRunning:
		n.recordAdmitted(pod)
	case corev1.PodSucceeded, corev1.PodFailed:
		n.release(pod)
	}
	s.pods.Enqueue(pod)
}

func (s *Nodes) podGone(obj interface{}) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if n := s.node(pod.Spec.NodeName); n != nil {
		n.release(pod)
		n.ips.release(pod.UID)
	}
}

// enqueuePodsOf queues every pod bound to a node.
func (s *Nodes) enqueuePodsOf(name string) {
	if s.opts.LeavePods {
		return
	}
	objs, err := s.podIndex.ByIndex(byNode, name)
	if err != nil {
		return
	}
	for _, obj := range objs {
		s.pods.Enqueue(obj)
	}
}

// syncPod does for one pod what the kubelet of its node would: start it
// (or reject it), finish it when its time comes, remove it once deleted.
func (s *Nodes) syncPod(ctx context.Context, key string) error {
	obj, exists, err := s.podIndex.GetByKey(key)
	if err != nil || !exists {
		return nil
	}
	pod := obj.(*corev1.Pod)
	n := s.node(pod.Spec.NodeName)
	if n == nil {
		return nil
	}
	n.acting.RLock()
	defer n.acting.RUnlock()
	if !n.live() {
		return nil
	}
	now := time.Now()
	if pod.DeletionTimestamp != nil {
		return s.removePod(ctx, pod, now)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	if pod.Status.Phase != corev1.PodRunning {
		if reason, message, ok := n.admit(pod); !ok {
			s.log.Debug("pod rejected", "pod", key, "node", n.name, "reason", reason)
			return s.writeStatus(ctx, pod, rejectedStatus(pod, reason, message))
		}
	}
	var ips []string
	if pod.Spec.HostNetwork {
		ips = []string{n.ip}
	} else if ips, err = n.ips.get(pod.UID, n.podRanges()); err != nil {
		// As a CNI plugin out of addresses: the pod stays pending.
		s.log.Warn("no pod IP", "pod", key, "node", n.name, "err", err)
		return &controller.Requeue{After: 5 * time.Second}
	}
	status := runningStatus(pod, n.ip, ips, metav1.NewTime(now))
	var wait time.Duration
	if f, ok := s.opts.Finish(pod); ok {
		var done bool
		if done, wait = finishDue(status.StartTime.Time, f, now); done {
			status = finishedStatus(pod, status, f, metav1.NewTime(now))
			n.release(pod)
		}
	}
	if err := s.writeStatus(ctx, pod, status); err != nil {
		return err
	}
	if wait > 0 {
		return &controller.Requeue{After: wait}
	}
	return nil
}

// writeStatus updates the pod's status to st unless it already is. A
// conflict is no error: the newer pod is on its way to the informer,
// which enqueues it again.
func (s *Nodes) writeStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) error {
	if apiequality.Semantic.DeepEqual(pod.Status, st) {
		return nil
	}
	p := pod.DeepCopy()
	p.Status = st
	_, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// removePod deletes a terminating pod for good once its containers
// stopped: DeleteDelay after the deletion was asked for.
func (s *Nodes) removePod(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	asked := pod.DeletionTimestamp.Time
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		asked = asked.Add(-time.Duration(*g) * time.Second)
	}
	if wait := asked.Add(s.opts.DeleteDelay).Sub(now); wait > 0 {
		return &controller.Requeue{After: wait}
	}
	uid := pod.UID
	err := s.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
