package pvcprotection

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// PVName is the volume protection controller's name in --controllers.
const PVName = "persistentvolume-protection"

// VolumeProtection keeps the pv-protection finalizer.
type VolumeProtection struct {
	client  kubernetes.Interface
	volumes corelisters.PersistentVolumeLister
	loop    *controller.Loop
	log     *slog.Logger
}

// NewVolumeProtection builds the volume protection controller.
func NewVolumeProtection(c *controller.Context) (*VolumeProtection, error) {
	inf := c.Informers.Core().V1().PersistentVolumes()
	p := &VolumeProtection{client: c.Client, volumes: inf.Lister(), log: c.Logger(PVName)}
	p.loop = c.NewLoop(PVName, p.sync, p.log)
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { p.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// Run protects until ctx ends.
func (p *VolumeProtection) Run(ctx context.Context) error {
	p.loop.Run(ctx, 2)
	return nil
}

// sync adds the finalizer to live volumes and removes it from deleted
// ones that are no longer bound.
func (p *VolumeProtection) sync(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := hasFinalizer(pv.Finalizers, PVFinalizer)
	var next *corev1.PersistentVolume
	switch {
	case pv.DeletionTimestamp == nil && !has:
		next = pv.DeepCopy()
		next.Finalizers = append(next.Finalizers, PVFinalizer)
	case pv.DeletionTimestamp != nil && has && pv.Status.Phase != corev1.VolumeBound:
		next = pv.DeepCopy()
		next.Finalizers = without(next.Finalizers, PVFinalizer)
	default:
		return nil
	}
	_, err = p.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
