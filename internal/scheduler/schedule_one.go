package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	"github.com/kemudi/kemudi/internal/scheduler/queue"
)

// noteLengthLimit is the longest event message the API takes.
const noteLengthLimit = 1024

// scheduleOne runs one scheduling cycle: pop a pod, decide its node on
// an up-to-date snapshot, assume it there and send the binding without
// waiting for the answer, so that the next cycle starts at once.
func (s *Scheduler) scheduleOne(ctx context.Context) {
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		return
	}
	pod := qp.Pod
	if pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod.UID) {
		s.queue.Done(pod.UID)
		return
	}
	start := time.Now()
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	result, err := s.fw.Schedule(ctx, state, qp.PodInfo, s.snapshot)
	if err != nil {
		if ctx.Err() != nil {
			s.queue.Done(pod.UID)
			return
		}
		s.failed(ctx, qp, state, err)
		return
	}
	// Assume a copy bound to the node; the spec is shared and never
	// changed.
	bound := *pod
	bound.Spec.NodeName = result.Node
	pi := *qp.PodInfo
	pi.Pod = &bound
	if err := s.cache.AssumePod(&pi, result.Node); err != nil {
		s.queue.Done(pod.UID)
		s.log.Error("assume pod", "pod", qp.Key(), "err", err)
		return
	}
	if st := s.fw.RunReserve(ctx, state, qp.PodInfo, result.Node); !st.IsSuccess() {
		s.fw.RunUnreserve(ctx, state, qp.PodInfo, result.Node)
		s.cache.ForgetPod(pod.UID)
		s.bindingFailed(ctx, qp, result.Node, st)
		return
	}
	s.queue.Done(pod.UID)
	s.queue.DeleteNominatedPod(pod.UID)
	s.log.Debug("scheduled", "pod", qp.Key(), "node", result.Node, "evaluated", result.Evaluated, "feasible", result.Feasible, "took", time.Since(start))
	select {
	case s.binds <- struct{}{}:
	case <-ctx.Done():
		s.fw.RunUnreserve(ctx, state, qp.PodInfo, result.Node)
		s.cache.ForgetPod(pod.UID)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.binds }()
		s.bindingCycle(ctx, qp, state, pod, result.Node)
	}()
}

// bindingCycle runs the PreBind plugins (which may wait for volumes to
// be bound), then binds. A failure undoes the reservation and puts the
// pod back in the queue.
func (s *Scheduler) bindingCycle(ctx context.Context, qp *queue.QueuedPodInfo, state *framework.CycleState, pod *corev1.Pod, node string) {
	if st := s.fw.RunPreBind(ctx, state, qp.PodInfo, node); !st.IsSuccess() {
		s.unreserve(ctx, qp, state, node)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("prebind failed", "pod", qp.Key(), "node", node, "err", st.Message())
		s.bindingFailed(ctx, qp, node, st)
		return
	}
	s.bind(ctx, qp, state, pod, node)
}

// unreserve undoes a placement whose binding failed: what the Reserve
// plugins hold and the assumed pod go, and so may free room for others.
func (s *Scheduler) unreserve(ctx context.Context, qp *queue.QueuedPodInfo, state *framework.CycleState, node string) {
	s.fw.RunUnreserve(ctx, state, qp.PodInfo, node)
	s.cache.ForgetPod(qp.Pod.UID)
	s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodDelete)
}

// bindingFailed puts back a pod whose placement failed after its node
// was chosen (Reserve or PreBind) with upstream's FailedScheduling
// event: a rejection waits for a change that may help, an error backs
// off.
func (s *Scheduler) bindingFailed(ctx context.Context, qp *queue.QueuedPodInfo, node string, st *framework.Status) {
	pod := qp.Pod
	current, err := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || current.UID != pod.UID || current.Spec.NodeName != "" {
		s.queue.Done(pod.UID)
		return
	}
	reason, msg := corev1.PodReasonSchedulerError, st.Message()
	var plugins sets.Set[string]
	if st.IsRejected() {
		reason = corev1.PodReasonUnschedulable
		plugins = sets.New(st.Plugin())
		diag := framework.Diagnosis{NodeToStatus: map[string]*framework.Status{node: st}, UnschedulablePlugins: plugins}
		msg = (&framework.FitError{NumAllNodes: 1, Diagnosis: diag}).Error()
	}
	s.queue.AddUnschedulable(qp, current, plugins, !st.IsRejected())
	s.recorder(current).Eventf(current, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", truncate(msg))
	s.setUnschedulable(ctx, current, reason, msg, nil)
}

// bind posts the pod's Binding. The API refuses a second binding (409),
// so a pod is never bound twice, even across restarts; the UID
// precondition keeps a recreated pod of the same name from taking the
// old one's place.
func (s *Scheduler) bind(ctx context.Context, qp *queue.QueuedPodInfo, state *framework.CycleState, pod *corev1.Pod, node string) {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	if err == nil {
		s.recorder(pod).Eventf(pod, nil, corev1.EventTypeNormal, "Scheduled", "Binding", "Successfully assigned %v/%v to %v", pod.Namespace, pod.Name, node)
		return
	}
	s.unreserve(ctx, qp, state, node)
	if ctx.Err() != nil {
		return
	}
	current, gerr := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if apierrors.IsConflict(err) && gerr == nil && current.Spec.NodeName == "" {
		// The API knows better than our cache whether it is bound.
		current, gerr = s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err), gerr != nil, current.UID != pod.UID:
		// Deleted meanwhile.
		return
	case current.Spec.NodeName != "":
		// Bound meanwhile: by another scheduler, or by us before a
		// restart; the API refused to bind it twice.
		s.log.Debug("already bound", "pod", qp.Key(), "node", current.Spec.NodeName)
		return
	}
	s.log.Warn("binding rejected", "pod", qp.Key(), "node", node, "err", err)
	msg := fmt.Sprintf("Binding rejected: %v", err)
	s.queue.AddBackoff(qp, current)
	s.recorder(current).Eventf(current, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", truncate(msg))
	s.setUnschedulable(ctx, current, corev1.PodReasonSchedulerError, msg, nil)
}

// failed handles a pod that fits nowhere or whose cycle failed: it may
// preempt, goes back to the queue, and gets a FailedScheduling event and
// its PodScheduled condition.
func (s *Scheduler) failed(ctx context.Context, qp *queue.QueuedPodInfo, state *framework.CycleState, err error) {
	pod := qp.Pod
	var fitErr *framework.FitError
	var plugins sets.Set[string]
	reason := corev1.PodReasonSchedulerError
	var nominate *string
	if errors.As(err, &fitErr) {
		reason = corev1.PodReasonUnschedulable
		plugins = fitErr.Diagnosis.UnschedulablePlugins
		nominate = s.tryPreemption(ctx, qp, state, fitErr)
	} else if errors.Is(err, framework.ErrNoNodesAvailable) {
		reason = corev1.PodReasonUnschedulable
	}
	current, gerr := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if gerr != nil || current.UID != pod.UID || current.Spec.NodeName != "" {
		s.queue.Done(pod.UID)
		return
	}
	s.queue.AddUnschedulable(qp, current, plugins, reason == corev1.PodReasonSchedulerError)
	if nominate != nil {
		s.queue.AddNominatedPod(framework.NewPodInfo(current), *nominate)
	}
	msg := err.Error()
	s.log.Debug("unschedulable", "pod", qp.Key(), "reason", msg)
	s.recorder(current).Eventf(current, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", truncate(msg))
	s.setUnschedulable(ctx, current, reason, msg, nominate)
}

// tryPreemption runs preemption for a pod no node fits and returns the
// node to nominate it to ("" to clear a nomination), or nil to leave
// it be. Evictions run asynchronously.
func (s *Scheduler) tryPreemption(ctx context.Context, qp *queue.QueuedPodInfo, state *framework.CycleState, fitErr *framework.FitError) *string {
	res, err := s.preempt.Evaluate(ctx, state, qp.PodInfo, s.snapshot, &fitErr.Diagnosis)
	if err != nil {
		s.log.Error("preemption", "pod", qp.Key(), "err", err)
		return nil
	}
	fitErr.Diagnosis.PostFilterMsg = res.Message
	if res.Candidate == nil {
		if res.ClearNomination && qp.Pod.Status.NominatedNodeName != "" {
			empty := ""
			return &empty
		}
		return nil
	}
	c := res.Candidate
	prio := framework.PodPriority(qp.Pod)
	var lower []*corev1.Pod
	for _, p := range s.queue.NominatedPodsForNode(c.Node) {
		if p.Pod.UID != qp.Pod.UID && framework.PodPriority(p.Pod) < prio {
			lower = append(lower, p.Pod)
			s.queue.DeleteNominatedPod(p.Pod.UID)
		}
	}
	// The queue takes qp back at once: hand the goroutine what it needs.
	preemptor, key := qp.Pod, qp.Key()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.actuator.Preempt(ctx, preemptor, c, lower); err != nil && ctx.Err() == nil {
			s.log.Error("preemption", "pod", key, "node", c.Node, "err", err)
		}
	}()
	node := c.Node
	return &node
}

// setUnschedulable sets the pod's PodScheduled condition (and its
// nominated node) unless it already says so; asynchronously.
func (s *Scheduler) setUnschedulable(ctx context.Context, pod *corev1.Pod, reason, msg string, nominate *string) {
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
	changed := nominate != nil && *nominate != pod.Status.NominatedNodeName
	found := false
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		found = true
		if c.Status != cond.Status || c.Reason != cond.Reason || c.Message != cond.Message {
			changed = true
		}
	}
	if !found {
		changed = true
	}
	if !changed {
		return
	}
	cond.LastTransitionTime = metav1.Now()
	status := map[string]any{"conditions": []corev1.PodCondition{cond}}
	if nominate != nil {
		if *nominate == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = *nominate
		}
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_, err := s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			s.log.Warn("update pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}()
}

// truncate cuts a message to what an event note may hold.
func truncate(msg string) string {
	if len(msg) <= noteLengthLimit {
		return msg
	}
	const suffix = " ..."
	return msg[:noteLengthLimit-len(suffix)] + suffix
}
