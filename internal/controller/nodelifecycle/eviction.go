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
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

// EvictionName is the taint eviction controller's name in --controllers.
const EvictionName = "taint-eviction-controller"

// Eviction deletes pods from nodes with NoExecute taints they do not
// tolerate, once their tolerationSeconds ran out.
type Eviction struct {
	client   kubernetes.Interface
	pods     cache.Indexer
	nodes    corelisters.NodeLister
	recorder record.EventRecorder
	log      *slog.Logger
	loop     *controller.Loop
	now      func() time.Time

	mu sync.Mutex
	// firstSeen is when a pod's NoExecute taints were first seen, for
	// taints that do not say when they were added.
	firstSeen map[string]time.Time
	// scheduled are the pods with an eviction pending, to report a
	// cancelled one as upstream does.
	scheduled map[string]bool
}

// NewEviction builds the taint eviction controller.
func NewEviction(c *controller.Context) (*Eviction, error) {
	podInf := c.Informers.Core().V1().Pods()
	nodeInf := c.Informers.Core().V1().Nodes()
	if err := controller.AddPodNodeIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	e := &Eviction{
		client:    c.Client,
		pods:      podInf.Informer().GetIndexer(),
		nodes:     nodeInf.Lister(),
		recorder:  c.Recorder(EvictionName),
		log:       c.Logger(EvictionName),
		now:       c.Clock.Now,
		firstSeen: map[string]time.Time{},
		scheduled: map[string]bool{},
	}
	e.loop = c.NewLoop(EvictionName, e.sync, e.log)
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				e.loop.Enqueue(obj)
			}
		},
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Pod), obj.(*corev1.Pod)
			if n.Spec.NodeName != "" && (o.Spec.NodeName != n.Spec.NodeName || len(o.Spec.Tolerations) != len(n.Spec.Tolerations)) {
				e.loop.Enqueue(obj)
			}
		},
		DeleteFunc: e.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { e.enqueueNodePods(obj.(*corev1.Node).Name) },
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Node), obj.(*corev1.Node)
			if !sameTaints(noExecuteTaints(o.Spec.Taints), noExecuteTaints(n.Spec.Taints)) {
				e.enqueueNodePods(n.Name)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				e.enqueueNodePods(n.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Eviction) enqueueNodePods(node string) {
	pods, err := controller.PodsOnNode(e.pods, node)
	if err != nil {
		e.log.Error("list pods of node", "node", node, "err", err)
		return
	}
	for _, p := range pods {
		e.loop.Enqueue(p)
	}
}

// Run evicts until ctx ends.
func (e *Eviction) Run(ctx context.Context) error {
	e.loop.Run(ctx, 8)
	return nil
}

func (e *Eviction) sync(ctx context.Context, key string) error {
	obj, ok, err := e.pods.GetByKey(key)
	if err != nil {
		return err
	}
	if !ok {
		e.forget(key, false)
		return nil
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		e.forget(key, false)
		return nil
	}
	node, err := e.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		e.forget(key, true)
		return nil
	}
	if err != nil {
		return err
	}
	taints := noExecuteTaints(node.Spec.Taints)
	if len(taints) == 0 {
		e.forget(key, true)
		return nil
	}
	now := e.now()
	e.mu.Lock()
	first, seen := e.firstSeen[key]
	if !seen {
		first = now
		e.firstSeen[key] = now
	}
	e.mu.Unlock()
	at, evict := evictionTime(pod.Spec.Tolerations, taints, first)
	if !evict {
		e.forget(key, true)
		return nil
	}
	if wait := at.Sub(now); wait > 0 {
		e.mu.Lock()
		e.scheduled[key] = true
		e.mu.Unlock()
		return &controller.Requeue{After: wait}
	}
	if err := e.evict(ctx, pod); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.firstSeen, key)
	delete(e.scheduled, key)
	e.mu.Unlock()
	return nil
}

// forget drops what is remembered of a pod; cancelled reports a pending
// eviction that no longer applies, as upstream does.
func (e *Eviction) forget(key string, cancelled bool) {
	e.mu.Lock()
	was := e.scheduled[key]
	delete(e.firstSeen, key)
	delete(e.scheduled, key)
	e.mu.Unlock()
	if was && cancelled {
		e.podEvent(key, "Cancelling deletion of Pod %s")
	}
}

// evict marks the pod a disruption target and deletes it.
func (e *Eviction) evict(ctx context.Context, cached *corev1.Pod) error {
	key := cached.Namespace + "/" + cached.Name
	e.podEvent(key, "Marking for deletion Pod %s")
	pod := cached.DeepCopy()
	if setDisruptionTarget(pod, e.now()) {
		if _, err := e.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			if !apierrors.IsConflict(err) {
				return fmt.Errorf("mark pod %s a disruption target: %w", key, err)
			}
		}
	}
	uid := cached.UID
	err := e.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	e.log.Info("evicted pod from tainted node", "pod", key, "node", cached.Spec.NodeName)
	return nil
}

// setDisruptionTarget adds upstream's DisruptionTarget condition.
func setDisruptionTarget(pod *corev1.Pod, now time.Time) bool {
	cond := corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             "DeletionByTaintManager",
		Message:            "Taint manager: deleting due to NoExecute taint",
		LastTransitionTime: metav1.NewTime(now),
		ObservedGeneration: pod.Generation,
	}
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			if c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
				return false
			}
			pod.Status.Conditions[i] = cond
			return true
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, cond)
	return true
}

func (e *Eviction) podEvent(key, format string) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name}
	e.recorder.Eventf(ref, corev1.EventTypeNormal, "TaintManagerEviction", format, key)
}
