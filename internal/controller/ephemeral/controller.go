package ephemeral

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers, upstream's.
const Name = "ephemeral-volume-controller"

// eventSource is the component upstream's events carry.
const eventSource = "ephemeral_volume"

// reasonFailedBinding is upstream's reason for a volume whose claim
// cannot be had.
const reasonFailedBinding = "FailedBinding"

// claimIndex indexes pods by the ephemeral claims they need.
const claimIndex = "kemudi.io/ephemeral-claim"

// workers is upstream's --concurrent-ephemeralvolume-syncs default.
const workers = 5

// Controller creates the claims of pods' ephemeral volumes.
type Controller struct {
	client   kubernetes.Interface
	pods     corelisters.PodLister
	claims   corelisters.PersistentVolumeClaimLister
	byClaim  cache.Indexer
	recorder record.EventRecorder
	loop     *controller.Loop
	log      *slog.Logger
}

// New builds the controller on c's informers.
func New(c *controller.Context) (*Controller, error) {
	podInf := c.Informers.Core().V1().Pods()
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	e := &Controller{
		client:   c.Client,
		pods:     podInf.Lister(),
		claims:   pvcInf.Lister(),
		byClaim:  podInf.Informer().GetIndexer(),
		recorder: c.Recorder(eventSource),
		log:      c.Logger(Name),
	}
	e.loop = c.NewLoop(Name, e.sync, e.log)
	if err := addClaimIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	// A pod's volumes never change, so a new pod is all there is to
	// see; a failed create is retried by the loop.
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: e.enqueuePod}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	// A claim deleted under a live pod is made again.
	if _, err := pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: e.claimDeleted}); err != nil {
		return nil, fmt.Errorf("claim handler: %w", err)
	}
	return e, nil
}

func addClaimIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[claimIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{claimIndex: func(obj interface{}) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return claimsOf(pod), nil
	}})
	if err != nil {
		return fmt.Errorf("add ephemeral claim index: %w", err)
	}
	return nil
}

// Run creates claims until ctx ends.
func (e *Controller) Run(ctx context.Context) error {
	e.loop.Run(ctx, workers)
	return nil
}

func (e *Controller) enqueuePod(obj interface{}) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.DeletionTimestamp != nil || len(claimsOf(pod)) == 0 {
		return
	}
	e.loop.Enqueue(pod)
}

func (e *Controller) claimDeleted(obj interface{}) {
	pvc, ok := controller.DeletedObject[*corev1.PersistentVolumeClaim](obj)
	if !ok {
		return
	}
	pods, err := e.byClaim.ByIndex(claimIndex, pvc.Namespace+"/"+pvc.Name)
	if err != nil {
		e.log.Error("pods of a deleted claim", "claim", pvc.Namespace+"/"+pvc.Name, "err", err)
		return
	}
	for _, p := range pods {
		e.enqueuePod(p)
	}
}

func (e *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	pod, err := e.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil {
		return nil
	}
	a := decide(pod, func(claim string) *corev1.PersistentVolumeClaim {
		pvc, err := e.claims.PersistentVolumeClaims(ns).Get(claim)
		if err != nil {
			return nil
		}
		return pvc
	})
	for _, n := range a.create {
		_, err := e.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, n.claim, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind; the retry sees whose claim it is.
			return fmt.Errorf("pod %s, ephemeral volume %s: claim %s exists", key, n.volume, n.claim.Name)
		}
		if err != nil {
			err = fmt.Errorf("create PVC %s: %w", n.claim.Name, err)
			e.recorder.Event(pod, corev1.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("ephemeral volume %s: %v", n.volume, err))
			return fmt.Errorf("pod %s, ephemeral volume %s: %w", key, n.volume, err)
		}
	}
	if c := a.conflict; c != nil {
		e.recorder.Event(pod, corev1.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("ephemeral volume %s: %v", c.volume, c.err))
		return fmt.Errorf("pod %s, ephemeral volume %s: %w", key, c.volume, c.err)
	}
	return nil
}
