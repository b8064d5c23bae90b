package csi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/registry/storage/csidriver"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// Mounter stages and publishes CSI persistent volumes for the node's
// pods and undoes it when they go.
type Mounter struct {
	root    string // the kubelet's root directory
	node    string
	client  kubernetes.Interface
	drivers *Drivers
	log     *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // by driver/handle: stage, publish and unstage of a volume one at a time
	// published are the pods' volumes published since the kubelet
	// started (uid/pv): SetUp at a container's restart calls nothing.
	published map[string]bool
	// Reported, if set, says whether the node's status in the API lists
	// the volume in volumesInUse. An attachable volume is mounted only
	// then, as upstream: the attach/detach controller, which detaches
	// what a node does not report, must know before anything is mounted.
	Reported func(corev1.UniqueVolumeName) bool
}

// NewMounter mounts volumes under root (the kubelet's root directory)
// through the drivers registered in drivers.
func NewMounter(root, node string, client kubernetes.Interface, drivers *Drivers, log *slog.Logger) *Mounter {
	return &Mounter{root: root, node: node, client: client, drivers: drivers, log: log,
		locks: map[string]*sync.Mutex{}, published: map[string]bool{}}
}

// OpError is a failed step of a mount, named as upstream's events name
// it (MountVolume.WaitForAttach, MountVolume.MountDevice, MountVolume.SetUp).
type OpError struct {
	Op  string
	Err error
}

func (e *OpError) Error() string { return e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

// Operation names the step for the FailedMount message.
func (e *OpError) Operation() string { return e.Op }

func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Err: err}
}

func (m *Mounter) lock(driver, handle string) func() {
	m.mu.Lock()
	l, ok := m.locks[driver+"/"+handle]
	if !ok {
		l = &sync.Mutex{}
		m.locks[driver+"/"+handle] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// SetUp makes the pod's CSI volume ready and returns the host path the
// runtime bind-mounts into containers: the attachment awaited (when the
// driver requires attach), the volume staged once for the node and
// published into the pod's directory. fsGroup says whether the kubelet
// is to apply the pod's fsGroup to it (the driver's fsGroupPolicy).
func (m *Mounter) SetUp(ctx context.Context, pod *corev1.Pod, pv *corev1.PersistentVolume, readOnly bool) (path string, fsGroup bool, err error) {
	target := targetPath(m.root, string(pod.UID), pv.Name)
	key := string(pod.UID) + "/" + pv.Name
	m.mu.Lock()
	done := m.published[key]
	m.mu.Unlock()
	if done {
		return target, false, nil
	}
	d, err := m.setUp(ctx, pod, pv, readOnly, target)
	if err != nil {
		return "", false, err
	}
	m.mu.Lock()
	m.published[key] = true
	m.mu.Unlock()
	sc := pod.Spec.SecurityContext
	return target, ownershipDue(pv, d, sc != nil && sc.FSGroup != nil, readOnly || pv.Spec.CSI.ReadOnly), nil
}

// setUp attaches, stages and publishes; it returns the CSIDriver (nil
// when there is none).
func (m *Mounter) setUp(ctx context.Context, pod *corev1.Pod, pv *corev1.PersistentVolume, readOnly bool, target string) (*storagev1.CSIDriver, error) {
	src := pv.Spec.CSI
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	dr, ok := m.drivers.Get(src.Driver)
	if !ok {
		return nil, opErr("SetUp", fmt.Errorf("kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name %s not found in the list of registered CSI drivers", src.Driver))
	}
	csiDriver, err := m.csiDriver(ctx, src.Driver)
	if err != nil {
		return nil, opErr("SetUp", err)
	}
	publishContext, err := m.attachment(ctx, src, csiDriver)
	if err != nil {
		return nil, opErr("WaitForAttach", err)
	}
	c, err := newClient(dr.Endpoint)
	if err != nil {
		return nil, opErr("SetUp", err)
	}
	defer c.Close()
	caps, err := c.capabilities(ctx)
	if err != nil {
		return nil, opErr("MountDevice", err)
	}
	defer m.lock(src.Driver, src.VolumeHandle)()
	staging := ""
	if caps.stageUnstage {
		staging = stagingPath(m.root, src.Driver, src.VolumeHandle)
		if err := m.stage(ctx, c, pv, staging, publishContext); err != nil {
			return nil, opErr("MountDevice", err)
		}
	}
	if err := m.publish(ctx, c, pod, pv, csiDriver, staging, target, readOnly, publishContext); err != nil {
		return nil, opErr("SetUp", err)
	}
	return csiDriver, nil
}

// csiDriver is the driver's CSIDriver object, nil when there is none.
func (m *Mounter) csiDriver(ctx context.Context, name string) (*storagev1.CSIDriver, error) {
	d, err := m.client.StorageV1().CSIDrivers().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get CSIDriver %s: %w", name, err)
	}
	return d, nil
}

// attachRequired: a driver without a CSIDriver object, or whose object
// does not say otherwise, must be attached first (upstream's default).
func attachRequired(d *storagev1.CSIDriver) bool {
	return d == nil || csidriver.AttachRequired(d)
}

// attachment is the volume's publish context from its VolumeAttachment
// once attached; an error until then (the pod's sync tries again).
func (m *Mounter) attachment(ctx context.Context, src *corev1.CSIPersistentVolumeSource, d *storagev1.CSIDriver) (map[string]string, error) {
	if !attachRequired(d) {
		return nil, nil
	}
	if m.Reported != nil && !m.Reported(volumeattachment.UniqueVolumeName(src.Driver, src.VolumeHandle)) {
		return nil, errors.New("volume has not been added to the list of VolumesInUse in the node's volume status")
	}
	name := volumeattachment.Name(src.VolumeHandle, src.Driver, m.node)
	va, err := m.client.StorageV1().VolumeAttachments().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("volume attachment %s for volume %s is not there yet: waiting for the attach/detach controller", name, src.VolumeHandle)
	}
	if err != nil {
		return nil, fmt.Errorf("get volume attachment %s: %w", name, err)
	}
	return attachmentStatus(va, src)
}

// attachmentStatus is upstream's check of an attachment: attached (its
// metadata is the publish context), failed (the attacher's message), or
// still to come.
func attachmentStatus(va *storagev1.VolumeAttachment, src *corev1.CSIPersistentVolumeSource) (map[string]string, error) {
	switch {
	case va.DeletionTimestamp != nil:
		return nil, errors.New("volume attachment is being deleted")
	case va.Status.Attached:
		return va.Status.AttachmentMetadata, nil
	case va.Status.AttachError != nil:
		return nil, errors.New(va.Status.AttachError.Message)
	}
	return nil, fmt.Errorf("volume %s is not attached yet: waiting for external-attacher of %s CSI driver to attach it", src.VolumeHandle, src.Driver)
}

// stage stages the volume at staging unless done already (its
// vol_data.json beside the staging dir says so).
func (m *Mounter) stage(ctx context.Context, c *client, pv *corev1.PersistentVolume, staging string, publishContext map[string]string) error {
	if _, ok, err := readVolData(staging); err != nil || ok {
		return err
	}
	src := pv.Spec.CSI
	secrets, err := m.secrets(ctx, src.NodeStageSecretRef)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return fmt.Errorf("make staging dir: %w", err)
	}
	if _, err := c.node.NodeStageVolume(ctx, stageRequest(pv, staging, publishContext, secrets)); err != nil {
		return err
	}
	return writeVolData(staging, volData{SpecVolID: pv.Name, VolumeHandle: src.VolumeHandle, DriverName: src.Driver, NodeName: m.node,
		AttachmentID: volumeattachment.Name(src.VolumeHandle, src.Driver, m.node)})
}

// publish publishes the volume at target. Its vol_data.json is written
// first: a pod torn down after a failed or uncertain publish still gets
// its NodeUnpublishVolume (which a driver answers for a target it never
// mounted too).
func (m *Mounter) publish(ctx context.Context, c *client, pod *corev1.Pod, pv *corev1.PersistentVolume, d *storagev1.CSIDriver, staging, target string, readOnly bool, publishContext map[string]string) error {
	src := pv.Spec.CSI
	secrets, err := m.secrets(ctx, src.NodePublishSecretRef)
	if err != nil {
		return err
	}
	attrs := src.VolumeAttributes
	if d != nil && d.Spec.PodInfoOnMount != nil && *d.Spec.PodInfoOnMount {
		attrs = merge(attrs, podInfo(pod))
	}
	if err := writeVolData(target, volData{SpecVolID: pv.Name, VolumeHandle: src.VolumeHandle, DriverName: src.Driver, NodeName: m.node,
		AttachmentID: volumeattachment.Name(src.VolumeHandle, src.Driver, m.node), LifecycleMode: string(storagev1.VolumeLifecyclePersistent)}); err != nil {
		return err
	}
	_, err = c.node.NodePublishVolume(ctx, publishRequest(pv, staging, target, readOnly, publishContext, attrs, secrets))
	return err
}

// secrets are the data of the referenced secret, as strings.
func (m *Mounter) secrets(ctx context.Context, ref *corev1.SecretReference) (map[string]string, error) {
	if ref == nil {
		return nil, nil
	}
	s, err := m.client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("fetching secret %s/%s failed: %w", ref.Namespace, ref.Name, err)
	}
	out := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out, nil
}

// removeDir removes a mount dir and its vol_data.json directory once
// nothing is mounted there (a driver that left its mount keeps them).
func removeDir(mountDir string) error {
	if err := os.Remove(mountDir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", mountDir, err)
	}
	parent := filepath.Dir(mountDir)
	if err := os.Remove(filepath.Join(parent, volDataFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Remove(parent); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", parent, err)
	}
	return nil
}
