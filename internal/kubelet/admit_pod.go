package kubelet

import (
	corev1 "k8s.io/api/core/v1"
)

// admit decides once whether the worker's pod may run on this node
// (AdmitPod) and returns its rejection, nil when admitted. A pod that
// already has a sandbox or containers, or has left Pending, was admitted
// before (by this kubelet before a restart).
func (w *worker) admit(pod *corev1.Pod, state PodState) *Rejection {
	w.mu.Lock()
	decided, r := w.admitted || w.rejected != nil, w.rejected
	w.mu.Unlock()
	if decided {
		return r
	}
	started := pod.Status.Phase != corev1.PodPending && pod.Status.Phase != "" // "": a static pod's, from its file
	if len(state.Sandboxes) > 0 || len(state.Containers) > 0 || started {
		w.setAdmission(nil)
		w.k.retryDeferredResizes() // they may have waited for this pod to be known
		return nil
	}
	r = w.k.admit(w, pod)
	w.k.retryDeferredResizes()
	return r
}

func (w *worker) setAdmission(r *Rejection) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.admitted, w.rejected = r == nil, r
}

// undecided: w has a pod that has not been through admission yet.
func (w *worker) undecided() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod != nil && !w.admitted && w.rejected == nil &&
		w.pod.Status.Phase != corev1.PodSucceeded && w.pod.Status.Phase != corev1.PodFailed
}

func (w *worker) rejection() *Rejection {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rejected
}

// running is the worker's pod when it counts against the node: admitted,
// not finished and not evicted; with its allocation, what it holds.
func (w *worker) running() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.admitted || w.pod == nil || w.evicted != "" ||
		w.pod.Status.Phase == corev1.PodSucceeded || w.pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	if w.alloc != nil {
		return w.alloc.Apply(w.pod)
	}
	return w.pod
}

// admit runs the node's admission for w's pod, one pod at a time, so
// that two new pods never both take the same room.
func (k *Kubelet) admit(w *worker, pod *corev1.Pod) *Rejection {
	k.admitMu.Lock()
	defer k.admitMu.Unlock()
	node := k.node.Node()
	if node == nil {
		return nil // not registered yet: decided on a later sync
	}
	others := k.otherPods(w.uid)
	pressure := k.evictions.Pressure()
	var under []corev1.NodeConditionType
	for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		if pressure[c] {
			under = append(under, c)
		}
	}
	r := AdmitPod(AdmitInput{Pod: pod, Admitted: others, Node: node, Pressure: under})
	w.setAdmission(r)
	if r != nil {
		k.recorder.Event(pod, corev1.EventTypeWarning, r.Reason, r.Message)
		k.log.Info("pod rejected", "pod", klogName(pod), "reason", r.Reason, "message", r.Message)
	}
	return r
}

// rejectedPod is pod as the kubelet sees it once rejected: Failed, with
// the rejection's reason and message, as upstream's rejectPod writes it.
func rejectedPod(pod *corev1.Pod, r *Rejection) *corev1.Pod {
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == r.Reason {
		return pod
	}
	p := pod.DeepCopy()
	p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, r.Reason, "Pod was rejected: "+r.Message
	return p
}
