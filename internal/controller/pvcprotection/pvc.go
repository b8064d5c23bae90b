package pvcprotection

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// PVCName is the claim protection controller's name in --controllers.
const PVCName = "persistentvolumeclaim-protection"

// ClaimProtection keeps the pvc-protection finalizer.
type ClaimProtection struct {
	client kubernetes.Interface
	claims corelisters.PersistentVolumeClaimLister
	pods   corelisters.PodLister
	loop   *controller.Loop
	log    *slog.Logger
}

// NewClaimProtection builds the claim protection controller.
func NewClaimProtection(c *controller.Context) (*ClaimProtection, error) {
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	podInf := c.Informers.Core().V1().Pods()
	p := &ClaimProtection{
		client: c.Client,
		claims: pvcInf.Lister(),
		pods:   podInf.Lister(),
		log:    c.Logger(PVCName),
	}
	p.loop = c.NewLoop(PVCName, p.sync, p.log)
	if _, err := pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { p.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	podChanged := func(obj interface{}) {
		pod, ok := controller.DeletedObject[*corev1.Pod](obj)
		if !ok {
			return
		}
		for _, claim := range claimsOf(pod) {
			p.loop.Queue.Add(pod.Namespace + "/" + claim)
		}
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    podChanged,
		UpdateFunc: func(_, obj interface{}) { podChanged(obj) },
		DeleteFunc: podChanged,
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// Run protects until ctx ends.
func (p *ClaimProtection) Run(ctx context.Context) error {
	p.loop.Run(ctx, 4)
	return nil
}

func (p *ClaimProtection) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	pvc, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := hasFinalizer(pvc.Finalizers, PVCFinalizer)
	if pvc.DeletionTimestamp == nil {
		if has {
			return nil
		}
		c := pvc.DeepCopy()
		c.Finalizers = append(c.Finalizers, PVCFinalizer)
		_, err := p.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, c, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if !has {
		return nil
	}
	used, err := p.inUse(ctx, pvc)
	if err != nil || used {
		return err
	}
	c := pvc.DeepCopy()
	c.Finalizers = without(c.Finalizers, PVCFinalizer)
	_, err = p.client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, c, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		p.log.Info("removed the protection finalizer of a claim no pod uses", "claim", key)
	}
	return err
}

// inUse asks the cache, then (when the cache says no) the API server
// itself, as upstream does: a pod created a moment ago must not lose its
// claim.
func (p *ClaimProtection) inUse(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	pods, err := p.pods.Pods(pvc.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, pod := range pods {
		if podUsesClaim(pod, pvc.Name) {
			return true, nil
		}
	}
	list, err := p.client.CoreV1().Pods(pvc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for i := range list.Items {
		if podUsesClaim(&list.Items[i], pvc.Name) {
			return true, nil
		}
	}
	return false, nil
}
