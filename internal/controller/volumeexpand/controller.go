package volumeexpand

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers, upstream's.
const Name = "persistentvolume-expander"

// eventSource is the component upstream's events carry.
const eventSource = "volume_expand"

// Upstream's event of a claim left to an external resizer.
const (
	ReasonExternalExpanding = "ExternalExpanding"
	messageExternal         = "waiting for an external controller to expand this PVC"
)

// workers is upstream's (a fixed 10).
const workers = 10

// Controller reports claims that are to grow.
type Controller struct {
	claims   corelisters.PersistentVolumeClaimLister
	volumes  corelisters.PersistentVolumeLister
	recorder record.EventRecorder
	loop     *controller.Loop
	log      *slog.Logger
}

// New builds the controller on c's informers.
func New(c *controller.Context) (*Controller, error) {
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	pvInf := c.Informers.Core().V1().PersistentVolumes()
	e := &Controller{
		claims:   pvcInf.Lister(),
		volumes:  pvInf.Lister(),
		recorder: c.Recorder(eventSource),
		log:      c.Logger(Name),
	}
	e.loop = c.NewLoop(Name, e.sync, e.log)
	if _, err := pvcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: e.enqueueBound,
		UpdateFunc: func(old, cur interface{}) {
			o, ok1 := old.(*corev1.PersistentVolumeClaim)
			n, ok2 := cur.(*corev1.PersistentVolumeClaim)
			if ok1 && ok2 && grew(o, n) {
				e.enqueueBound(n)
			}
		},
	}); err != nil {
		return nil, err
	}
	_ = pvInf.Informer()
	return e, nil
}

func (e *Controller) enqueueBound(obj interface{}) {
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.Status.Phase == corev1.ClaimBound {
		e.loop.Enqueue(pvc)
	}
}

// Run reports until ctx ends.
func (e *Controller) Run(ctx context.Context) error {
	e.loop.Run(ctx, workers)
	return nil
}

func (e *Controller) sync(_ context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	pvc, err := e.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pv, err := e.volumes.Get(pvc.Spec.VolumeName)
	if err != nil {
		return err
	}
	grow, err := wantsGrowth(pvc, pv)
	if err != nil || !grow {
		return err
	}
	e.recorder.Event(pvc, corev1.EventTypeNormal, ReasonExternalExpanding, messageExternal)
	e.log.Info("waiting for an external controller to expand the claim", "claim", key)
	return nil
}
