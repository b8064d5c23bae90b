package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/scheduler/queue"
)

func assigned(pod *corev1.Pod) bool { return pod.Spec.NodeName != "" }

func podOf(obj any) *corev1.Pod {
	switch t := obj.(type) {
	case *corev1.Pod:
		return t
	case cache.DeletedFinalStateUnknown:
		p, _ := t.Obj.(*corev1.Pod)
		return p
	}
	return nil
}

func nodeOf(obj any) *corev1.Node {
	switch t := obj.(type) {
	case *corev1.Node:
		return t
	case cache.DeletedFinalStateUnknown:
		n, _ := t.Obj.(*corev1.Node)
		return n
	}
	return nil
}

func (s *Scheduler) onPodAdd(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	if assigned(pod) {
		s.cache.AddPod(pod)
		s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodAdd)
		return
	}
	if s.responsible(pod) && pod.DeletionTimestamp == nil {
		s.queue.Add(pod)
	}
}

func (s *Scheduler) onPodUpdate(oldObj, obj any) {
	old, pod := podOf(oldObj), podOf(obj)
	if old == nil || pod == nil {
		return
	}
	switch {
	case assigned(old):
		if s.cache.UpdatePod(old, pod) {
			s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodUpdate)
		}
	case assigned(pod):
		// The binding: ours (confirming the assumed pod) or someone's.
		s.cache.AddPod(pod)
		s.queue.Delete(pod)
		s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodAdd)
	case s.responsible(old) || s.responsible(pod):
		if old.ResourceVersion == pod.ResourceVersion || s.cache.IsAssumed(pod.UID) {
			return
		}
		if !s.responsible(pod) || pod.DeletionTimestamp != nil {
			s.queue.Delete(pod)
			return
		}
		s.queue.Update(old, pod)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	if _, unknown := obj.(cache.DeletedFinalStateUnknown); assigned(pod) || unknown {
		s.cache.RemovePod(pod.UID)
		s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodDelete)
	}
	if !assigned(pod) {
		s.queue.Delete(pod)
		s.volumeChange()
		if s.cache.IsAssumed(pod.UID) {
			// Deleted while its binding is in flight: free its room now.
			s.cache.ForgetPod(pod.UID)
			s.queue.MoveAllToActiveOrBackoff(queue.AssignedPodDelete)
		}
	}
}

func (s *Scheduler) onNodeAdd(obj any) {
	node := nodeOf(obj)
	if node == nil {
		return
	}
	s.cache.AddNode(node)
	s.queue.MoveAllToActiveOrBackoff(queue.NodeAdd)
}

func (s *Scheduler) onNodeUpdate(oldObj, obj any) {
	old, node := nodeOf(oldObj), nodeOf(obj)
	if old == nil || node == nil {
		return
	}
	s.cache.UpdateNode(node)
	if e := nodeChange(old, node); e != 0 {
		s.queue.MoveAllToActiveOrBackoff(e)
	}
}

func (s *Scheduler) onNodeDelete(obj any) {
	node := nodeOf(obj)
	if node == nil {
		return
	}
	s.cache.RemoveNode(node)
	s.queue.MoveAllToActiveOrBackoff(queue.NodeDelete)
}

// nodeChange is what changed about a node that may help pending pods.
func nodeChange(old, node *corev1.Node) queue.Event {
	var e queue.Event
	if !equality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable) {
		e |= queue.NodeAllocatableChange
	}
	if !labels.Equals(old.Labels, node.Labels) {
		e |= queue.NodeLabelChange
	}
	if !equality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) {
		e |= queue.NodeTaintChange
	}
	if old.Spec.Unschedulable != node.Spec.Unschedulable {
		e |= queue.NodeSpecUnschedulableChange
	}
	return e
}
