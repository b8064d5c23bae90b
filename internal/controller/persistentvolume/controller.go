package persistentvolume

import (
	"context"
	"log/slog"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/storage/storageclass"
)

// Name is the controller's name in --controllers, upstream's.
const Name = "persistentvolume-binder"

// ResyncPeriod is how often every claim and volume is synced again
// (upstream's --pvclaimbinder-sync-period default): claims wait for
// volumes that appear without an event about them.
const ResyncPeriod = 15 * time.Second

// Controller binds claims and volumes.
type Controller struct {
	client    kubernetes.Interface
	volumes   corelisters.PersistentVolumeLister
	claims    corelisters.PersistentVolumeClaimLister
	classes   storagelisters.StorageClassLister
	pods      corelisters.PodLister
	volLoop   *controller.Loop
	claimLoop *controller.Loop
	recorder  record.EventRecorder
	log       *slog.Logger
	resync    time.Duration
}

// New builds the controller on c's informers.
func New(c *controller.Context) (*Controller, error) {
	pvInf := c.Informers.Core().V1().PersistentVolumes()
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	scInf := c.Informers.Storage().V1().StorageClasses()
	podInf := c.Informers.Core().V1().Pods()
	p := &Controller{
		client:   c.Client,
		volumes:  pvInf.Lister(),
		claims:   pvcInf.Lister(),
		classes:  scInf.Lister(),
		pods:     podInf.Lister(),
		recorder: c.Recorder("persistentvolume-controller"),
		log:      c.Logger(Name),
		resync:   ResyncPeriod,
	}
	p.volLoop = c.NewLoop(Name+"-volumes", p.syncVolume, p.log)
	p.claimLoop = c.NewLoop(Name+"-claims", p.syncClaim, p.log)
	if _, err := pvInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			p.volLoop.Enqueue(obj)
			p.volumeAvailable(nil, obj)
		},
		UpdateFunc: func(old, obj interface{}) {
			p.volLoop.Enqueue(obj)
			p.volumeAvailable(old, obj)
		},
		DeleteFunc: p.volumeDeleted,
	}); err != nil {
		return nil, err
	}
	if _, err := pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.claimLoop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { p.claimLoop.Enqueue(obj) },
		DeleteFunc: p.claimDeleted,
	}); err != nil {
		return nil, err
	}
	// A new or changed class (a default that appears, a class created
	// after its claims) concerns the claims still waiting.
	if _, err := scInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { p.enqueueUnbound("") },
		UpdateFunc: func(_, _ interface{}) { p.enqueueUnbound("") },
	}); err != nil {
		return nil, err
	}
	// The pod informer is read for the WaitForPodScheduled event only.
	_ = podInf.Informer()
	return p, nil
}

// volumeAvailable wakes the claims a volume that just became Available
// may serve, at once rather than at the next resync: the claim it is
// reserved for, or every claim still unbound.
func (p *Controller) volumeAvailable(old, obj interface{}) {
	v, ok := obj.(*corev1.PersistentVolume)
	if !ok || v.Status.Phase != corev1.VolumeAvailable {
		return
	}
	if o, ok := old.(*corev1.PersistentVolume); ok && o.Status.Phase == corev1.VolumeAvailable {
		return
	}
	switch ref := v.Spec.ClaimRef; {
	case ref == nil:
		p.enqueueUnbound("")
	case ref.UID == "":
		p.claimLoop.Queue.Add(ref.Namespace + "/" + ref.Name)
	}
}

// enqueueUnbound adds every claim not bound yet (of namespace, all for "").
func (p *Controller) enqueueUnbound(namespace string) {
	claims, err := p.claims.PersistentVolumeClaims(namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, c := range claims {
		if !metav1.HasAnnotation(c.ObjectMeta, storagehelpers.AnnBindCompleted) {
			p.claimLoop.Enqueue(c)
		}
	}
}

// Run binds until ctx ends: one worker per queue, as upstream, so that
// two claims never race for one volume in this process.
func (p *Controller) Run(ctx context.Context) error {
	go p.volLoop.Run(ctx, 1)
	go p.resyncEvery(ctx)
	p.claimLoop.Run(ctx, 1)
	return nil
}

func (p *Controller) resyncEvery(ctx context.Context) {
	t := time.NewTicker(p.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		claims, _ := p.claims.List(labels.Everything())
		for _, c := range claims {
			p.claimLoop.Enqueue(c)
		}
		vols, _ := p.volumes.List(labels.Everything())
		for _, v := range vols {
			p.volLoop.Enqueue(v)
		}
	}
}

// volumeDeleted makes the claim of a deleted volume look again (Lost).
func (p *Controller) volumeDeleted(obj interface{}) {
	if v, ok := controller.DeletedObject[*corev1.PersistentVolume](obj); ok && v.Spec.ClaimRef != nil {
		p.claimLoop.Queue.Add(v.Spec.ClaimRef.Namespace + "/" + v.Spec.ClaimRef.Name)
	}
}

// claimDeleted releases the volume of a deleted claim at once.
func (p *Controller) claimDeleted(obj interface{}) {
	if c, ok := controller.DeletedObject[*corev1.PersistentVolumeClaim](obj); ok && c.Spec.VolumeName != "" {
		p.volLoop.Queue.Add(c.Spec.VolumeName)
	}
}

func (p *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	claim, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	w, err := p.claimWorld(claim)
	if err != nil {
		return err
	}
	plan := DecideClaim(claim, w)
	return p.applyClaim(ctx, claim, plan)
}

// claimWorld reads what DecideClaim needs from the caches.
func (p *Controller) claimWorld(claim *corev1.PersistentVolumeClaim) (ClaimWorld, error) {
	var w ClaimWorld
	var err error
	if w.Volumes, err = p.volumes.List(labels.Everything()); err != nil {
		return w, err
	}
	classes, err := p.classes.List(labels.Everything())
	if err != nil {
		return w, err
	}
	w.Default = storageclass.DefaultOf(classes)
	if name := storagehelpers.GetPersistentVolumeClaimClass(claim); name != "" {
		if w.Class, err = p.classes.Get(name); apierrors.IsNotFound(err) {
			w.Class, err = nil, nil
		}
		if err != nil {
			return w, err
		}
	}
	if claim.Spec.VolumeName == "" {
		w.UnscheduledPods, err = p.unscheduledPods(claim)
	}
	return w, err
}

// unscheduledPods are the live pods that use claim and have no node.
func (p *Controller) unscheduledPods(claim *corev1.PersistentVolumeClaim) ([]string, error) {
	pods, err := p.pods.Pods(claim.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, pod := range pods {
		if pod.Spec.NodeName != "" || controller.IsPodTerminal(pod) || !usesClaim(pod, claim.Name) {
			continue
		}
		out = append(out, pod.Name)
	}
	sort.Strings(out)
	return out, nil
}

func usesClaim(pod *corev1.Pod, claim string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
			return true
		}
		if v.Ephemeral != nil && pod.Name+"-"+v.Name == claim {
			return true
		}
	}
	return false
}

func (p *Controller) syncVolume(ctx context.Context, name string) error {
	vol, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	claim, err := p.claimOf(ctx, vol)
	if err != nil {
		return err
	}
	return p.applyVolume(ctx, vol, claim, DecideVolume(vol, claim))
}

// claimOf is the claim vol's claimRef names, nil when it is gone (or
// replaced by another of the same name). A claim missing from the cache,
// or there with another uid, is asked of the API server before the
// volume is released: the cache may be behind a provisioner's or the
// scheduler's binding (upstream does the same).
func (p *Controller) claimOf(ctx context.Context, vol *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	ref := vol.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		return nil, nil
	}
	claim, err := p.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	released := vol.Status.Phase == corev1.VolumeReleased || vol.Status.Phase == corev1.VolumeFailed
	if (claim == nil && !released) || (claim != nil && claim.UID != ref.UID) {
		claim, err = p.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if claim != nil && claim.UID != ref.UID {
		return nil, nil
	}
	return claim, nil
}
