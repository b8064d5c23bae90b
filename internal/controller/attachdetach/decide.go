package attachdetach

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// Upstream's event reasons.
const (
	ReasonFailedAttach     = "FailedAttachVolume"
	ReasonSuccessfulAttach = "SuccessfulAttachVolume"
)

// Input is what Decide looks at for one node.
type Input struct {
	NodeName string
	// Node is nil when the node is gone.
	Node *corev1.Node
	// Desired are the volumes the node's pods need (none unless the
	// controller manages the node).
	Desired []Volume
	// Attachments are the VolumeAttachments of persistent volumes to
	// this node.
	Attachments []Attachment
	// Elsewhere maps a persistent volume to the other nodes it has an
	// attachment to, and UsersElsewhere to the pods there that need it:
	// a volume only one node may attach waits for those to go.
	Elsewhere      map[string][]string
	UsersElsewhere map[string][]*corev1.Pod
	// State is what earlier decisions for the node remembered.
	State             State
	Now               time.Time
	MaxWaitForUnmount time.Duration
}

// Attachment is a VolumeAttachment with the unique name of its volume
// ("" when its persistent volume is gone).
type Attachment struct {
	*storagev1.VolumeAttachment
	Volume corev1.UniqueVolumeName
}

// State is what the controller remembers of a node between decisions
// (upstream keeps it in memory too): when each attachment was first
// found unneeded, and what was last told about each in events, so that
// each outcome is told once.
type State struct {
	DetachRequested map[string]time.Time
	Reported        map[string]string
}

// Event is one event on a pod.
type Event struct {
	Pod                   *corev1.Pod
	Type, Reason, Message string
}

// Decision is what to do for the node.
type Decision struct {
	// Create are the attachments to create, Delete the names of those to
	// delete (after the node status no longer lists them).
	Create []*storagev1.VolumeAttachment
	Delete []string
	// VolumesAttached is the node's new status.volumesAttached; Update
	// says it differs from the node's.
	VolumesAttached []corev1.AttachedVolume
	UpdateStatus    bool
	Events          []Event
	State           State
	// RecheckAfter, when positive, is when a waiting detach is due.
	RecheckAfter time.Duration
}

// Decide compares the volumes a node's pods need with the attachments
// it has: it creates the missing ones (unless another node holds a
// volume only one may attach), deletes the unneeded ones that the
// kubelet no longer uses (or that waited MaxWaitForUnmount on a node
// not Ready or gone, or at once on a node out of service), and lists the
// attached ones for the node status.
func Decide(in Input) Decision {
	d := Decision{State: State{DetachRequested: map[string]time.Time{}, Reported: map[string]string{}}}
	byName := map[string]*Attachment{}
	for i := range in.Attachments {
		byName[in.Attachments[i].Name] = &in.Attachments[i]
	}
	wanted := map[string]bool{}
	for _, v := range in.Desired {
		name := volumeattachment.Name(v.Handle, v.Driver, in.NodeName)
		wanted[name] = true
		d.attach(in, v, name, byName[name])
	}
	known := namesInStatus(in.Node, in.NodeName)
	inUse := inUseAttachments(in.Node, in.NodeName)
	var attached []corev1.AttachedVolume
	for _, a := range in.Attachments {
		if a.DeletionTimestamp != nil {
			continue
		}
		if !wanted[a.Name] && d.detach(in, a, inUse) {
			continue
		}
		vol := cmp.Or(a.Volume, known[a.Name])
		if a.Status.Attached && vol != "" {
			attached = append(attached, corev1.AttachedVolume{Name: vol})
		}
	}
	slices.SortFunc(attached, func(a, b corev1.AttachedVolume) int { return cmp.Compare(a.Name, b.Name) })
	d.VolumesAttached = attached
	d.UpdateStatus = in.Node != nil && !sameAttached(attached, in.Node.Status.VolumesAttached)
	return d
}

// attach handles a volume the node needs: create its attachment, wait
// for another node to let go, or report how the attaching went.
func (d *Decision) attach(in Input, v Volume, name string, a *Attachment) {
	switch {
	case a == nil && !v.MultiAttach && len(in.Elsewhere[v.PV]) > 0:
		d.report(in, name, "multi-attach", v.Pods, func(p *corev1.Pod) string {
			return volumeMessage("Waiting for detach", v.PV, multiAttachReason(p, in.UsersElsewhere[v.PV]))
		})
	case a == nil:
		d.Create = append(d.Create, newAttachment(name, v, in.NodeName))
	case a.DeletionTimestamp != nil:
		// Detaching still; created again once it is gone.
	case a.Status.AttachError != nil:
		e := a.Status.AttachError
		d.report(in, name, "error "+e.Time.UTC().Format(time.RFC3339)+" "+e.Message, v.Pods, func(*corev1.Pod) string {
			return volumeMessage("AttachVolume.Attach failed", v.PV, ": "+e.Message)
		})
	case a.Status.Attached && listedAttached(in.Node, v.Name):
		// Told before (a restarted controller finds it in the status).
		d.State.Reported[name] = "attached"
	case a.Status.Attached:
		d.reportType(in, name, "attached", corev1.EventTypeNormal, ReasonSuccessfulAttach, v.Pods, func(*corev1.Pod) string {
			return volumeMessage("AttachVolume.Attach succeeded", v.PV, "")
		})
	}
}

// detach decides on an attachment no pod on the node needs; it returns
// true when the attachment is to be deleted.
func (d *Decision) detach(in Input, a Attachment, inUse map[string]bool) bool {
	since, ok := in.State.DetachRequested[a.Name]
	if !ok {
		since = in.Now
	}
	healthy := in.Node != nil && nodeReady(in.Node)
	// A node that is gone cannot say it unmounted: wait out the timeout.
	mounted := in.Node == nil || inUse[a.Name]
	waited := in.Now.Sub(since)
	force := !healthy && waited > in.MaxWaitForUnmount
	if mounted && !force && !outOfService(in.Node) {
		d.State.DetachRequested[a.Name] = since
		if !healthy {
			d.recheck(in.MaxWaitForUnmount - waited + time.Millisecond)
		}
		return false
	}
	d.Delete = append(d.Delete, a.Name)
	return true
}

func (d *Decision) recheck(after time.Duration) {
	if d.RecheckAfter <= 0 || after < d.RecheckAfter {
		d.RecheckAfter = after
	}
}

// report records a warning for the pods unless the same was told last.
func (d *Decision) report(in Input, name, what string, pods []*corev1.Pod, msg func(*corev1.Pod) string) {
	d.reportType(in, name, what, corev1.EventTypeWarning, ReasonFailedAttach, pods, msg)
}

func (d *Decision) reportType(in Input, name, what, typ, reason string, pods []*corev1.Pod, msg func(*corev1.Pod) string) {
	d.State.Reported[name] = what
	if in.State.Reported[name] == what {
		return
	}
	for _, p := range pods {
		d.Events = append(d.Events, Event{Pod: p, Type: typ, Reason: reason, Message: msg(p)})
	}
}

// volumeMessage is upstream's form of a volume's event message.
func volumeMessage(prefix, pv, suffix string) string {
	return fmt.Sprintf("%s for volume %q %s", prefix, pv, suffix)
}

// multiAttachReason tells a pod why its volume waits, naming only the
// pods of its own namespace, as upstream does.
func multiAttachReason(pod *corev1.Pod, users []*corev1.Pod) string {
	if len(users) == 0 {
		return "Volume is already exclusively attached to one node, waiting on detach before it can be attached to another node"
	}
	var local []string
	others := 0
	for _, u := range users {
		if u.Namespace == pod.Namespace {
			local = append(local, u.Name)
		} else {
			others++
		}
	}
	if len(local) == 0 {
		return fmt.Sprintf("Volume is already used by %d pod(s) in different namespaces", others)
	}
	msg := "Volume is already used by pod(s) " + strings.Join(local, ", ")
	if others > 0 {
		msg += fmt.Sprintf(" and %d pod(s) in different namespaces", others)
	}
	return msg
}

// newAttachment is the VolumeAttachment asking the driver to attach v
// to node, as upstream's CSI attacher writes it.
func newAttachment(name string, v Volume, node string) *storagev1.VolumeAttachment {
	pv := v.PV
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: v.Driver,
			NodeName: node,
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv},
		},
	}
}

// namesInStatus maps attachment names to the unique names the node's
// status lists, for attachments whose persistent volume is gone.
func namesInStatus(n *corev1.Node, node string) map[string]corev1.UniqueVolumeName {
	out := map[string]corev1.UniqueVolumeName{}
	if n == nil {
		return out
	}
	add := func(name corev1.UniqueVolumeName) {
		if driver, handle, ok := volumeattachment.SplitUniqueName(name); ok {
			out[volumeattachment.Name(handle, driver, node)] = name
		}
	}
	for _, v := range n.Status.VolumesInUse {
		add(v)
	}
	for _, v := range n.Status.VolumesAttached {
		add(v.Name)
	}
	return out
}

// inUseAttachments are the attachments of the volumes the kubelet says
// it has mounted (status.volumesInUse).
func inUseAttachments(n *corev1.Node, node string) map[string]bool {
	out := map[string]bool{}
	if n == nil {
		return out
	}
	for _, v := range n.Status.VolumesInUse {
		if driver, handle, ok := volumeattachment.SplitUniqueName(v); ok {
			out[volumeattachment.Name(handle, driver, node)] = true
		}
	}
	return out
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// outOfService: an admin marked the node shut down for good; its
// volumes detach without waiting (upstream's non-graceful shutdown).
func outOfService(n *corev1.Node) bool {
	if n == nil {
		return false
	}
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
}

func listedAttached(n *corev1.Node, name corev1.UniqueVolumeName) bool {
	return n != nil && slices.ContainsFunc(n.Status.VolumesAttached, func(v corev1.AttachedVolume) bool { return v.Name == name })
}

func sameAttached(a, b []corev1.AttachedVolume) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[corev1.AttachedVolume]bool{}
	for _, v := range b {
		set[v] = true
	}
	for _, v := range a {
		if !set[v] {
			return false
		}
	}
	return true
}
