package attachdetach

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

const (
	drv  = "disk.csi.fake"
	node = "node-1"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
}

func vol(handle string, pods ...*corev1.Pod) Volume {
	return Volume{Name: volumeattachment.UniqueVolumeName(drv, handle), PV: "pv-" + handle, Driver: drv, Handle: handle, Pods: pods}
}

// va is the attachment of handle's volume to n.
func va(handle, n string, mod ...func(*storagev1.VolumeAttachment)) Attachment {
	a := newAttachment(volumeattachment.Name(handle, drv, n), vol(handle), n)
	for _, m := range mod {
		m(a)
	}
	return Attachment{VolumeAttachment: a, Volume: volumeattachment.UniqueVolumeName(drv, handle)}
}

func attached(a *storagev1.VolumeAttachment) { a.Status.Attached = true }
func deleting(a *storagev1.VolumeAttachment) { a.DeletionTimestamp = &metav1.Time{Time: now} }
func failed(msg string) func(*storagev1.VolumeAttachment) {
	return func(a *storagev1.VolumeAttachment) {
		a.Status.AttachError = &storagev1.VolumeError{Message: msg, Time: metav1.Time{Time: now}}
	}
}

type nodeOpt func(*corev1.Node)

func managedNode(opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Annotations: map[string]string{ManagedAnnotation: "true"}}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func inUse(handles ...string) nodeOpt {
	return func(n *corev1.Node) {
		for _, h := range handles {
			n.Status.VolumesInUse = append(n.Status.VolumesInUse, volumeattachment.UniqueVolumeName(drv, h))
		}
	}
}

func listed(handles ...string) nodeOpt {
	return func(n *corev1.Node) {
		for _, h := range handles {
			n.Status.VolumesAttached = append(n.Status.VolumesAttached, corev1.AttachedVolume{Name: volumeattachment.UniqueVolumeName(drv, h)})
		}
	}
}

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }

func outOfServiceTaint(n *corev1.Node) {
	n.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoExecute}}
}

// TestDecide: what a user sees follow from each situation: attachments
// created, deleted, the node status and the events.
func TestDecide(t *testing.T) {
	web := pod("web")
	tests := []struct {
		name     string
		in       Input
		create   []string // handles
		del      []string // handles
		status   []string // handles in volumesAttached, nil: unchanged
		events   []string // "pod reason message-substring"
		recheck  time.Duration
		waitFrom map[string]time.Time // handle → detach requested
	}{
		{
			name:   "a pod's volume gets an attachment",
			in:     Input{Node: managedNode(), Desired: []Volume{vol("a", web)}},
			create: []string{"a"},
		},
		{
			name: "an attachment under way is not created twice nor reported",
			in:   Input{Node: managedNode(), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node)}},
		},
		{
			name:   "attached: listed in the node status, the pod told",
			in:     Input{Node: managedNode(), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node, attached)}},
			status: []string{"a"},
			events: []string{`web SuccessfulAttachVolume AttachVolume.Attach succeeded for volume "pv-a"`},
		},
		{
			name: "attached and listed already (a restarted controller): nothing to tell",
			in:   Input{Node: managedNode(listed("a")), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node, attached)}},
		},
		{
			name:   "the driver failed: the pod told its message",
			in:     Input{Node: managedNode(), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node, failed("disk quota exceeded"))}},
			events: []string{`web FailedAttachVolume AttachVolume.Attach failed for volume "pv-a" : disk quota exceeded`},
		},
		{
			name: "the same failure is told once",
			in: Input{Node: managedNode(), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node, failed("disk quota exceeded"))},
				State: State{Reported: map[string]string{volumeattachment.Name("a", drv, node): "error " + now.Format(time.RFC3339) + " disk quota exceeded"}}},
		},
		{
			name: "unneeded and unmounted: detached, and dropped from the status first",
			in:   Input{Node: managedNode(listed("a")), Attachments: []Attachment{va("a", node, attached)}},
			del:  []string{"a"}, status: []string{},
		},
		{
			name:     "unneeded but still mounted on a Ready node: waits for the kubelet",
			in:       Input{Node: managedNode(inUse("a"), listed("a")), Attachments: []Attachment{va("a", node, attached)}},
			waitFrom: map[string]time.Time{"a": now},
		},
		{
			name: "still mounted on a node not Ready: waits out the timeout",
			in: Input{Node: managedNode(inUse("a"), listed("a"), notReady), Attachments: []Attachment{va("a", node, attached)},
				State: State{DetachRequested: map[string]time.Time{volumeattachment.Name("a", drv, node): now.Add(-time.Minute)}}},
			recheck:  5*time.Minute + time.Millisecond,
			waitFrom: map[string]time.Time{"a": now.Add(-time.Minute)},
		},
		{
			name: "still mounted on a node not Ready past the timeout: detached",
			in: Input{Node: managedNode(inUse("a"), listed("a"), notReady), Attachments: []Attachment{va("a", node, attached)},
				State: State{DetachRequested: map[string]time.Time{volumeattachment.Name("a", drv, node): now.Add(-7 * time.Minute)}}},
			del: []string{"a"}, status: []string{},
		},
		{
			name: "mounted on a Ready node past the timeout: still waits (only an unhealthy node is forced)",
			in: Input{Node: managedNode(inUse("a"), listed("a")), Attachments: []Attachment{va("a", node, attached)},
				State: State{DetachRequested: map[string]time.Time{volumeattachment.Name("a", drv, node): now.Add(-7 * time.Minute)}}},
			waitFrom: map[string]time.Time{"a": now.Add(-7 * time.Minute)},
		},
		{
			name: "node out of service: detached at once",
			in:   Input{Node: managedNode(inUse("a"), listed("a"), notReady, outOfServiceTaint), Attachments: []Attachment{va("a", node, attached)}},
			del:  []string{"a"}, status: []string{},
		},
		{
			name:     "node gone: waits out the timeout",
			in:       Input{Attachments: []Attachment{va("a", node, attached)}},
			recheck:  6*time.Minute + time.Millisecond,
			waitFrom: map[string]time.Time{"a": now},
		},
		{
			name: "node no longer managed: its attachments go",
			in: Input{Node: func() *corev1.Node { n := managedNode(); n.Annotations = nil; return n }(),
				Attachments: []Attachment{va("a", node)}},
			del: []string{"a"},
		},
		{
			name:   "being deleted: neither listed nor created again",
			in:     Input{Node: managedNode(listed("a")), Desired: []Volume{vol("a", web)}, Attachments: []Attachment{va("a", node, attached, deleting)}},
			status: []string{},
		},
		{
			name: "a volume one node may attach waits for the other node",
			in: Input{Node: managedNode(), Desired: []Volume{vol("a", web)},
				Elsewhere: map[string][]string{"pv-a": {"node-2"}}, UsersElsewhere: map[string][]*corev1.Pod{"pv-a": {pod("db"), {ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "x"}}}}},
			events: []string{`web FailedAttachVolume Waiting for detach for volume "pv-a" Volume is already used by pod(s) db and 1 pod(s) in different namespaces`},
		},
		{
			name: "a many-node volume attaches beside another node's",
			in: Input{Node: managedNode(), Desired: []Volume{func() Volume { v := vol("a", web); v.MultiAttach = true; return v }()},
				Elsewhere: map[string][]string{"pv-a": {"node-2"}}},
			create: []string{"a"},
		},
		{
			name: "an attachment whose volume is gone keeps the name the status gave it",
			in: Input{Node: managedNode(inUse("a"), listed("a")),
				Attachments: []Attachment{func() Attachment { a := va("a", node, attached); a.Volume = ""; return a }()}},
			waitFrom: map[string]time.Time{"a": now},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.NodeName, in.Now, in.MaxWaitForUnmount = node, now, 6*time.Minute
			d := Decide(in)
			var created []string
			for _, a := range d.Create {
				created = append(created, a.Name)
				if a.Spec.Attacher != drv || a.Spec.NodeName != node || a.Spec.Source.PersistentVolumeName == nil {
					t.Errorf("attachment %+v", a.Spec)
				}
			}
			if !slices.Equal(created, names(tt.create)) {
				t.Errorf("created %v, want %v", created, tt.create)
			}
			if !slices.Equal(d.Delete, names(tt.del)) {
				t.Errorf("deleted %v, want %v", d.Delete, tt.del)
			}
			switch {
			case tt.status == nil && d.UpdateStatus:
				t.Errorf("status changed to %v", d.VolumesAttached)
			case tt.status != nil:
				var got []string
				for _, v := range d.VolumesAttached {
					got = append(got, string(v.Name))
				}
				want := []string{}
				for _, h := range tt.status {
					want = append(want, string(volumeattachment.UniqueVolumeName(drv, h)))
				}
				if !d.UpdateStatus || !slices.Equal(append([]string{}, got...), want) {
					t.Errorf("status %v (update %v), want %v", got, d.UpdateStatus, want)
				}
			}
			var events []string
			for _, e := range d.Events {
				events = append(events, e.Pod.Name+" "+e.Reason+" "+e.Message)
			}
			if len(events) != len(tt.events) {
				t.Fatalf("events %q, want %q", events, tt.events)
			}
			for i := range events {
				if !strings.HasPrefix(events[i], tt.events[i]) {
					t.Errorf("event %q, want %q", events[i], tt.events[i])
				}
			}
			if d.RecheckAfter != tt.recheck {
				t.Errorf("recheck after %v, want %v", d.RecheckAfter, tt.recheck)
			}
			want := map[string]time.Time{}
			for h, at := range tt.waitFrom {
				want[volumeattachment.Name(h, drv, node)] = at
			}
			if len(want) != len(d.State.DetachRequested) {
				t.Errorf("detach requested %v, want %v", d.State.DetachRequested, want)
			}
			for k, at := range want {
				if !d.State.DetachRequested[k].Equal(at) {
					t.Errorf("detach of %s requested at %v, want %v", k, d.State.DetachRequested[k], at)
				}
			}
		})
	}
}

func names(handles []string) []string {
	var out []string
	for _, h := range handles {
		out = append(out, volumeattachment.Name(h, drv, node))
	}
	return out
}
