package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// deferredResizeRetry is how soon a resize that waits for room is
// decided again.
const deferredResizeRetry = 5 * time.Second

// resizeState is the worker's in-place resize bookkeeping, owned by its
// goroutine (alloc is also read under mu by other pods' admission).
type resizeState struct {
	pending, inProgress *corev1.PodCondition
	// podLimits are the pod cgroup's settings as last set; nil when
	// unknown (a kubelet restarted).
	podLimits *podCgroupLimits
}

// allocation is the worker's pod's allocation: the one kept in the pod's
// directory (the kubelet restarted), else the spec's at admission.
func (w *worker) allocation(pod *corev1.Pod) Allocation {
	w.mu.Lock()
	a := w.alloc
	w.mu.Unlock()
	if a != nil {
		return *a
	}
	dir := w.k.volumes.PodDir(pod.UID)
	got, ok, err := loadAllocation(dir)
	if err != nil {
		w.k.log.Warn("pod allocation", "pod", klogName(pod), "err", err)
	}
	if !ok {
		got = allocationOf(pod)
		if err := saveAllocation(dir, got); err != nil {
			w.k.log.Warn("pod allocation", "pod", klogName(pod), "err", err)
		}
	}
	w.setAllocation(got)
	return got
}

func (w *worker) setAllocation(a Allocation) {
	w.mu.Lock()
	w.alloc = &a
	w.mu.Unlock()
}

// resize decides the pod's pending resize, if any, and returns the pod as
// it runs: with its allocation's resources.
func (w *worker) resize(pod *corev1.Pod) *corev1.Pod {
	k := w.k
	alloc := w.allocation(pod)
	rs := &w.resizing
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return alloc.Apply(pod)
	}
	if allocationOf(pod).Equal(alloc) {
		// Nothing asked (the usual sync): no need to look at the other
		// pods.
		rs.pending = nil
		w.deferred.Store(false)
		return pod
	}
	// A kubelet just started knows what the other pods hold only once
	// each has been through admission (its first sync): until then the
	// resize waits, or it could take their room.
	if !k.othersDecided(w.uid) {
		w.deferred.Store(true)
		return alloc.Apply(pod)
	}
	// One decision at a time with admissions: two pods never take the
	// same room.
	k.admitMu.Lock()
	d := DecideResize(ResizeInput{Pod: pod, Allocated: alloc, Others: k.otherPods(w.uid), Node: k.node.Node()})
	if d.Accept {
		alloc = allocationOf(pod)
		if err := saveAllocation(k.volumes.PodDir(pod.UID), alloc); err != nil {
			k.log.Warn("pod allocation", "pod", klogName(pod), "err", err)
		}
		w.setAllocation(alloc)
	}
	k.admitMu.Unlock()
	switch {
	case d.Accept:
		rs.pending = nil
		rs.inProgress = resizeCondition(corev1.PodResizeInProgress, "", "", pod.Generation, nil)
		k.recorder.Event(pod, corev1.EventTypeNormal, "ResizeStarted", resizeEventMessage("Pod resize started", pod, ""))
	case d.Reason != "":
		old := rs.pending
		rs.pending = resizeCondition(corev1.PodResizePending, d.Reason, d.Message, pod.Generation, old)
		if old == nil || old.Reason != d.Reason || old.ObservedGeneration != pod.Generation {
			event := "ResizeDeferred"
			if d.Reason == corev1.PodReasonInfeasible {
				event = "ResizeInfeasible"
			}
			k.recorder.Event(pod, corev1.EventTypeWarning, event, resizeEventMessage("Pod resize "+d.Reason, pod, d.Message))
		}
	default:
		rs.pending = nil
	}
	w.deferred.Store(rs.pending != nil && rs.pending.Reason == corev1.PodReasonDeferred)
	return alloc.Apply(pod)
}

// resizeCondition is a True resize condition: old when nothing in it
// changes (so that the status is not written again), else a new one that
// keeps old's transition time when the reason is the same.
func resizeCondition(t corev1.PodConditionType, reason, msg string, gen int64, old *corev1.PodCondition) *corev1.PodCondition {
	if old != nil && old.Reason == reason && old.Message == msg && old.ObservedGeneration == gen {
		return old
	}
	c := &corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: gen,
		LastProbeTime: metav1.Now(), LastTransitionTime: metav1.Now()}
	if old != nil && old.Reason == reason {
		c.LastTransitionTime = old.LastTransitionTime
	}
	return c
}

// retryDeferredResizes wakes the workers whose resize waits for room,
// as upstream retries pending resizes when a pod goes.
func (k *Kubelet) retryDeferredResizes() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range k.workers {
		if w.deferred.Load() {
			w.poke()
		}
	}
}

// othersDecided reports whether admission has decided every pod of the
// node but uid (admitted or rejected).
func (k *Kubelet) othersDecided(uid types.UID) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, o := range k.workers {
		if id != uid && o.undecided() {
			return false
		}
	}
	return true
}

// otherPods are the node's pods but uid that run or will, with their
// allocations applied.
func (k *Kubelet) otherPods(uid types.UID) []*corev1.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	var others []*corev1.Pod
	for id, o := range k.workers {
		if id == uid {
			continue
		}
		if p := o.running(); p != nil {
			others = append(others, p)
		}
	}
	return others
}

// actuateResize changes running containers' cgroups in place: the pod's
// cgroup first loosens to hold both the old and the new settings, the
// containers change, then the pod's cgroup takes the new settings.
func (w *worker) actuateResize(ctx context.Context, allocated *corev1.Pod, plan ResizePlan) error {
	k, rs := w.k, &w.resizing
	target := podCgroupFor(allocated)
	if len(plan.Update) == 0 && (rs.podLimits == nil || *rs.podLimits == target) {
		return nil
	}
	between := podCgroupLimits{CPUShares: target.CPUShares}
	if rs.podLimits != nil {
		between = loosest(*rs.podLimits, target)
	}
	if err := k.setPodCgroup(allocated, between); err != nil {
		return err
	}
	rs.podLimits = nil
	for _, u := range plan.Update {
		if _, err := k.rt.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: u.ID, Linux: u.Resources}); err != nil {
			return &resizeError{container: u.Name, err: grpcMessage(err)}
		}
	}
	if err := k.setPodCgroup(allocated, target); err != nil {
		return err
	}
	rs.podLimits = &target
	return nil
}

type resizeError struct{ container, err string }

func (e *resizeError) Error() string { return "container " + e.container + ": " + e.err }

// loosest are pod cgroup settings that hold both a and b: the larger
// shares, and no CPU quota or memory limit where either has none.
func loosest(a, b podCgroupLimits) podCgroupLimits {
	out := podCgroupLimits{CPUShares: max(a.CPUShares, b.CPUShares)}
	if a.CPUQuota > 0 && b.CPUQuota > 0 && a.CPUPeriod == b.CPUPeriod {
		out.CPUQuota, out.CPUPeriod = max(a.CPUQuota, b.CPUQuota), a.CPUPeriod
	}
	if a.Memory > 0 && b.Memory > 0 {
		out.Memory = max(a.Memory, b.Memory)
	}
	return out
}

// finishResize runs after the sync's actions: it actuates the allocation,
// then reports the resize done once every running container has it, or
// the error that stopped it.
func (w *worker) finishResize(ctx context.Context, allocated *corev1.Pod, state PodState) {
	k, rs := w.k, &w.resizing
	plan := PlanResize(allocated, state, k.memoryCapacity())
	plan.Restart = nil // restarts were this sync's actions
	err := w.actuateResize(ctx, allocated, plan)
	if rs.inProgress == nil {
		return
	}
	if err != nil {
		msg := err.Error()
		if rs.inProgress.Reason != "Error" || rs.inProgress.Message != msg {
			k.recorder.Event(allocated, corev1.EventTypeWarning, "ResizeError", resizeEventMessage("Pod resize error", allocated, msg))
		}
		rs.inProgress = resizeCondition(corev1.PodResizeInProgress, "Error", msg, rs.inProgress.ObservedGeneration, rs.inProgress)
		return
	}
	if len(plan.Update) > 0 {
		// Read back what the runtime now reports.
		if state, err = k.podState(ctx, w.uid); err != nil {
			return
		}
	}
	if !PlanResize(allocated, state, k.memoryCapacity()).Empty() {
		return
	}
	k.recorder.Event(allocated, corev1.EventTypeNormal, "ResizeCompleted", resizeEventMessage("Pod resize completed", allocated, ""))
	rs.inProgress = nil
}

// resizeConditions are the resize conditions to report.
func (rs *resizeState) conditions() []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range []*corev1.PodCondition{rs.pending, rs.inProgress} {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// busy: the resize waits for room or is under way; sync again soon.
func (rs *resizeState) busy() bool {
	return rs.inProgress != nil || rs.pending != nil && rs.pending.Reason == corev1.PodReasonDeferred
}
