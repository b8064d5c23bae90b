package csiattacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Disks is what a provider offers to attach its disks to its machines.
type Disks interface {
	// AttachDisk attaches disk to the machine of node (done already is
	// success) and returns what the node needs to find it (e.g. its
	// device path), the attachment's metadata.
	AttachDisk(ctx context.Context, disk, node string) (map[string]string, error)
	// DetachDisk detaches disk from the machine of node (not attached
	// is success).
	DetachDisk(ctx context.Context, disk, node string) error
}

// Provider is a cloud whose disks a CSI driver of its own serves.
type Provider interface {
	Disks
	// CSIDriverName is the driver its persistent volumes name.
	CSIDriverName() string
}

// maxErrorMessage is the longest attachError message the API takes.
const maxErrorMessage = 1024

// workers attach in parallel, one attachment at a time each.
const workers = 4

// Attacher attaches a driver's volumes through the provider.
type Attacher struct {
	driver      string
	finalizer   string
	disks       Disks
	client      kubernetes.Interface
	attachments storagelisters.VolumeAttachmentLister
	volumes     corelisters.PersistentVolumeLister
	loop        *controller.Loop
	log         *slog.Logger
	clock       clock.Clock
}

// New builds the attacher of driver's volumes on c's informers.
func New(c *controller.Context, driver string, disks Disks) (*Attacher, error) {
	vaInf := c.Informers.Storage().V1().VolumeAttachments()
	pvInf := c.Informers.Core().V1().PersistentVolumes()
	a := &Attacher{
		driver:      driver,
		finalizer:   Finalizer(driver),
		disks:       disks,
		client:      c.Client,
		attachments: vaInf.Lister(),
		volumes:     pvInf.Lister(),
		log:         c.Logger("csi-attacher").With("driver", driver),
		clock:       c.Clock,
	}
	// Failures back off from 1 s to 5 min, external-attacher's defaults.
	a.loop = c.NewLoopWithLimiter("csi-attacher", a.sync, a.log,
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute))
	_, err := vaInf.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj interface{}) bool {
			va, ok := controller.DeletedObject[*storagev1.VolumeAttachment](obj)
			return ok && va.Spec.Attacher == driver
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc: a.loop.Enqueue,
			UpdateFunc: func(old, cur interface{}) {
				if changed(old.(*storagev1.VolumeAttachment), cur.(*storagev1.VolumeAttachment)) {
					a.loop.Enqueue(cur)
				}
			},
			DeleteFunc: a.loop.Enqueue,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watch volumeattachments: %w", err)
	}
	return a, nil
}

// changed: an update asks for work, not only reports an error (which
// would retry at once, past the backoff).
func changed(old, cur *storagev1.VolumeAttachment) bool {
	return (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		!slices.Equal(old.Finalizers, cur.Finalizers) || old.Status.Attached != cur.Status.Attached
}

// Finalizer is the finalizer an attachment of driver's keeps while it
// may be attached, as external-attacher names it.
func Finalizer(driver string) string {
	name := regexp.MustCompile(`[^a-zA-Z0-9-]`).ReplaceAllString(driver, "-")
	if strings.HasSuffix(name, "-") {
		name += "X"
	}
	return "external-attacher/" + name
}

// Run attaches until ctx ends.
func (a *Attacher) Run(ctx context.Context) error {
	a.loop.Run(ctx, workers)
	return nil
}

func (a *Attacher) sync(ctx context.Context, name string) error {
	va, err := a.attachments.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if va.DeletionTimestamp != nil {
		return a.detach(ctx, va)
	}
	if va.Status.Attached && va.Status.AttachError == nil {
		return nil
	}
	return a.attach(ctx, va)
}

// attach keeps the attachment from going away unnoticed (the finalizer),
// then attaches and reports.
func (a *Attacher) attach(ctx context.Context, va *storagev1.VolumeAttachment) error {
	if !slices.Contains(va.Finalizers, a.finalizer) {
		upd := va.DeepCopy()
		upd.Finalizers = append(upd.Finalizers, a.finalizer)
		var err error
		if va, err = a.client.StorageV1().VolumeAttachments().Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("add finalizer to %s: %w", upd.Name, err)
		}
	}
	disk, err := a.handle(va)
	if err != nil {
		return a.fail(ctx, va, err)
	}
	a.log.Info("attaching", "disk", disk, "node", va.Spec.NodeName, "volumeattachment", va.Name)
	meta, err := a.disks.AttachDisk(ctx, disk, va.Spec.NodeName)
	if err != nil {
		return a.fail(ctx, va, err)
	}
	va = va.DeepCopy()
	va.Status = storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: meta}
	if _, err := a.client.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("report %s attached: %w", va.Name, err)
	}
	return nil
}

// fail reports an attach error in the status and retries with backoff.
func (a *Attacher) fail(ctx context.Context, va *storagev1.VolumeAttachment, cause error) error {
	va = va.DeepCopy()
	va.Status.Attached = false
	va.Status.AttachError = a.volumeError(cause)
	if _, err := a.client.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil {
		return errors.Join(cause, fmt.Errorf("report attach error of %s: %w", va.Name, err))
	}
	return fmt.Errorf("attach %s: %w", va.Name, cause)
}

// detach lets a deleted attachment go once its disk is detached.
func (a *Attacher) detach(ctx context.Context, va *storagev1.VolumeAttachment) error {
	if !slices.Contains(va.Finalizers, a.finalizer) {
		return nil
	}
	disk, err := a.handle(va)
	if err == nil {
		a.log.Info("detaching", "disk", disk, "node", va.Spec.NodeName, "volumeattachment", va.Name)
		err = a.disks.DetachDisk(ctx, disk, va.Spec.NodeName)
	}
	if err != nil {
		va = va.DeepCopy()
		va.Status.DetachError = a.volumeError(err)
		if _, uerr := a.client.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); uerr != nil {
			err = errors.Join(err, uerr)
		}
		return fmt.Errorf("detach %s: %w", va.Name, err)
	}
	va = va.DeepCopy()
	va.Finalizers = slices.DeleteFunc(va.Finalizers, func(f string) bool { return f == a.finalizer })
	if _, err := a.client.StorageV1().VolumeAttachments().Update(ctx, va, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of %s: %w", va.Name, err)
	}
	return nil
}

// handle is the disk an attachment is of: its volume's handle.
func (a *Attacher) handle(va *storagev1.VolumeAttachment) (string, error) {
	src := va.Spec.Source
	if src.InlineVolumeSpec != nil && src.InlineVolumeSpec.CSI != nil {
		return src.InlineVolumeSpec.CSI.VolumeHandle, nil
	}
	if src.PersistentVolumeName == nil {
		return "", errors.New("volume attachment has no volume")
	}
	pv, err := a.volumes.Get(*src.PersistentVolumeName)
	if err != nil {
		return "", fmt.Errorf("persistent volume %s: %w", *src.PersistentVolumeName, err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != a.driver {
		return "", fmt.Errorf("persistent volume %s is not a volume of %s", pv.Name, a.driver)
	}
	return pv.Spec.CSI.VolumeHandle, nil
}

func (a *Attacher) volumeError(err error) *storagev1.VolumeError {
	msg := err.Error()
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage]
	}
	return &storagev1.VolumeError{Time: metav1.NewTime(a.clock.Now()), Message: msg}
}
