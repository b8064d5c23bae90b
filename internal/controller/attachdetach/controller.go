package attachdetach

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// Name is the controller's name in --controllers (upstream's alias).
const Name = "attachdetach"

// eventSource is the component upstream's events carry.
const eventSource = "attachdetach-controller"

// Upstream's timings: a volume a node not Ready still says it uses is
// detached after 6 minutes; everything is looked at again every minute
// in case an event was missed.
const (
	defaultMaxWaitForUnmount = 6 * time.Minute
	resyncPeriod             = time.Minute
)

// workers sync nodes in parallel; one node is never synced twice at once.
const workers = 4

// Indexes on the shared informers.
const (
	attachmentNodeIndex = "kemudi.io/attachment-node"
	attachmentPVIndex   = "kemudi.io/attachment-pv"
	podClaimIndex       = "kemudi.io/pod-claim"
)

// Controller attaches and detaches CSI volumes through VolumeAttachments.
type Controller struct {
	client      kubernetes.Interface
	pods        cache.Indexer
	nodes       corelisters.NodeLister
	claims      corelisters.PersistentVolumeClaimLister
	volumes     corelisters.PersistentVolumeLister
	drivers     storagelisters.CSIDriverLister
	attachments cache.Indexer
	recorder    record.EventRecorder
	loop        *controller.Loop
	log         *slog.Logger
	clock       clock.Clock
	maxWait     time.Duration

	mu     sync.Mutex
	states map[string]State
}

// New builds the controller on c's informers.
func New(c *controller.Context) (*Controller, error) {
	f := c.Informers
	podInf, nodeInf := f.Core().V1().Pods(), f.Core().V1().Nodes()
	pvcInf, pvInf := f.Core().V1().PersistentVolumeClaims(), f.Core().V1().PersistentVolumes()
	driverInf, vaInf := f.Storage().V1().CSIDrivers(), f.Storage().V1().VolumeAttachments()
	ad := &Controller{
		client:      c.Client,
		pods:        podInf.Informer().GetIndexer(),
		nodes:       nodeInf.Lister(),
		claims:      pvcInf.Lister(),
		volumes:     pvInf.Lister(),
		drivers:     driverInf.Lister(),
		attachments: vaInf.Informer().GetIndexer(),
		recorder:    c.Recorder(eventSource),
		log:         c.Logger(Name),
		clock:       c.Clock,
		maxWait:     c.Options.MaxWaitForUnmount,
		states:      map[string]State{},
	}
	if ad.maxWait <= 0 {
		ad.maxWait = defaultMaxWaitForUnmount
	}
	ad.loop = c.NewLoop(Name, ad.sync, ad.log)
	if err := controller.AddPodNodeIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	if err := addIndexes(podInf.Informer(), vaInf.Informer()); err != nil {
		return nil, err
	}
	return ad, ad.watch(podInf.Informer(), nodeInf.Informer(), pvcInf.Informer(), pvInf.Informer(), driverInf.Informer(), vaInf.Informer())
}

// Run syncs nodes until ctx ends.
func (ad *Controller) Run(ctx context.Context) error {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ad.clock.After(resyncPeriod):
				ad.enqueueAll()
			}
		}
	}()
	ad.loop.Run(ctx, workers)
	return nil
}

// sync decides for one node and acts: status first (a volume about to
// be detached is no longer reported attached), then detaches, then
// attaches.
func (ad *Controller) sync(ctx context.Context, name string) error {
	in, err := ad.input(name)
	if err != nil {
		return err
	}
	d := Decide(in)
	ad.setState(name, d.State)
	for _, e := range d.Events {
		ad.recorder.Event(e.Pod, e.Type, e.Reason, e.Message)
	}
	if d.UpdateStatus {
		if err := ad.patchAttached(ctx, name, d.VolumesAttached); err != nil {
			return err
		}
	}
	for _, va := range d.Delete {
		ad.log.Info("detaching volume", "node", name, "volumeattachment", va)
		err := ad.client.StorageV1().VolumeAttachments().Delete(ctx, va, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete volumeattachment %s: %w", va, err)
		}
	}
	for _, va := range d.Create {
		ad.log.Info("attaching volume", "node", name, "volume", *va.Spec.Source.PersistentVolumeName, "volumeattachment", va.Name)
		_, err := ad.client.StorageV1().VolumeAttachments().Create(ctx, va, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create volumeattachment %s: %w", va.Name, err)
		}
	}
	if d.RecheckAfter > 0 {
		return controller.RequeueAfter(d.RecheckAfter)
	}
	return nil
}

// input gathers what Decide needs for a node from the caches.
func (ad *Controller) input(name string) (Input, error) {
	in := Input{NodeName: name, State: ad.state(name), Now: ad.clock.Now(), MaxWaitForUnmount: ad.maxWait}
	node, err := ad.nodes.Get(name)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return in, err
	default:
		in.Node = node
	}
	if Managed(node) {
		pods, err := controller.PodsOnNode(ad.pods, name)
		if err != nil {
			return in, err
		}
		in.Desired = Desired(pods, ad)
	}
	vas, err := ad.attachments.ByIndex(attachmentNodeIndex, name)
	if err != nil {
		return in, err
	}
	for _, o := range vas {
		va := o.(*storagev1.VolumeAttachment)
		in.Attachments = append(in.Attachments, Attachment{VolumeAttachment: va, Volume: ad.uniqueName(*va.Spec.Source.PersistentVolumeName)})
	}
	in.Elsewhere, in.UsersElsewhere = ad.elsewhere(name, in.Desired)
	return in, nil
}

// elsewhere finds, for each volume only one node may attach, the other
// nodes it is attached to and the pods there that need it.
func (ad *Controller) elsewhere(node string, desired []Volume) (map[string][]string, map[string][]*corev1.Pod) {
	nodes, users := map[string][]string{}, map[string][]*corev1.Pod{}
	for _, v := range desired {
		if v.MultiAttach {
			continue
		}
		vas, _ := ad.attachments.ByIndex(attachmentPVIndex, v.PV)
		for _, o := range vas {
			if va := o.(*storagev1.VolumeAttachment); va.Spec.NodeName != node {
				nodes[v.PV] = append(nodes[v.PV], va.Spec.NodeName)
			}
		}
		if len(nodes[v.PV]) == 0 {
			continue
		}
		for _, p := range ad.podsOfVolume(v.PV) {
			if p.Spec.NodeName != node && p.Spec.NodeName != "" && !podTerminated(p) {
				users[v.PV] = append(users[v.PV], p)
			}
		}
	}
	return nodes, users
}

// patchAttached writes the node's status.volumesAttached (the
// controller owns the list on the nodes it manages).
func (ad *Controller) patchAttached(ctx context.Context, node string, attached []corev1.AttachedVolume) error {
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"volumesAttached": attached}})
	if err != nil {
		return fmt.Errorf("volumesAttached patch: %w", err)
	}
	_, err = ad.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update volumesAttached of node %s: %w", node, err)
	}
	return nil
}

// uniqueName is the unique name of a persistent volume, "" when it is
// gone or not a CSI volume.
func (ad *Controller) uniqueName(pvName string) corev1.UniqueVolumeName {
	pv := ad.PersistentVolume(pvName)
	if pv == nil || pv.Spec.CSI == nil {
		return ""
	}
	return volumeattachment.UniqueVolumeName(pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle)
}

// Claim, PersistentVolume and Driver make the caches the Objects
// Desired reads.
func (ad *Controller) Claim(namespace, name string) *corev1.PersistentVolumeClaim {
	c, _ := ad.claims.PersistentVolumeClaims(namespace).Get(name)
	return c
}

func (ad *Controller) PersistentVolume(name string) *corev1.PersistentVolume {
	v, _ := ad.volumes.Get(name)
	return v
}

func (ad *Controller) Driver(name string) *storagev1.CSIDriver {
	d, _ := ad.drivers.Get(name)
	return d
}

func (ad *Controller) state(node string) State {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	return ad.states[node]
}

func (ad *Controller) setState(node string, s State) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if len(s.DetachRequested) == 0 && len(s.Reported) == 0 {
		delete(ad.states, node)
		return
	}
	ad.states[node] = s
}

// enqueueAll syncs every node and every node with an attachment.
func (ad *Controller) enqueueAll() {
	nodes, _ := ad.nodes.List(labels.Everything())
	for _, n := range nodes {
		ad.loop.Queue.Add(n.Name)
	}
	for _, o := range ad.attachments.List() {
		if va, ok := o.(*storagev1.VolumeAttachment); ok {
			ad.loop.Queue.Add(va.Spec.NodeName)
		}
	}
}
