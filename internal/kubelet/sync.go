package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
	"github.com/kemudi/kemudi/internal/kubelet/probe"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// retryAfter is when a sync that could not finish is tried again.
const retryAfter = 2 * time.Second

// sync executes the pod's next actions and reports its status; it
// returns when to sync again and whether the pod is gone for good.
func (w *worker) sync(ctx context.Context) (time.Duration, bool) {
	k := w.k
	pod := w.currentPod()
	state, err := k.podState(ctx, w.uid)
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("runtime state", "pod", w.uid, "err", err)
		}
		return retryAfter, false
	}
	if pod == nil {
		return w.removeAll(ctx, state)
	}
	if isStaticPod(pod) {
		pod = k.withMirrorStatus(pod)
	}
	r := w.admit(pod, state)
	if r != nil {
		pod = rejectedPod(pod, r)
	}
	if msg := w.evictedMessage(); msg != "" {
		pod = evictedPod(pod, msg, time.Now())
	}
	// run is the pod as its containers run: with the resources the node
	// allocated it, which a pending resize has not changed yet.
	run := pod
	if r == nil {
		run = w.resize(pod)
	}
	ids := make([]string, 0, len(state.Containers))
	for _, c := range state.Containers {
		ids = append(ids, c.Id)
	}
	ready, started, failed := k.probes.Results(ids)
	restarts := PlanResize(run, state, k.memoryCapacity()).Restart
	a := ComputeActions(ActionInput{Pod: run, State: state, Unhealthy: withRestarts(failed, restarts), Started: started, Backoff: w.backoff, Now: time.Now()})
	if a.DeadlineExceeded && pod.Status.Phase != corev1.PodFailed {
		k.recorder.Event(pod, corev1.EventTypeNormal, "DeadlineExceeded", deadlineMessage)
	}
	acted := w.execute(ctx, run, state, a)
	if acted {
		if state, err = k.podState(ctx, w.uid); err != nil {
			return retryAfter, false
		}
	}
	if r == nil {
		w.finishResize(ctx, run, state)
	}
	w.syncProbes(ctx, run, state)
	w.refreshVolumes(ctx, pod, state)
	k.collectGarbage(ctx, state)
	next := k.opts.SyncFrequency
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && pod.Status.StartTime != nil && !a.Done {
		next = min(next, time.Until(pod.Status.StartTime.Add(time.Duration(*d)*time.Second)))
	}
	for _, wt := range a.Wait {
		next = min(next, time.Until(wt.Until)+10*time.Millisecond)
	}
	if w.mountFailed {
		next = min(next, retryAfter)
	}
	if w.resizing.busy() {
		next = min(next, deferredResizeRetry)
	}
	for _, r := range w.waiting {
		if r.Reason == "ImagePullBackOff" || r.Reason == "ErrImagePull" || r.Reason == "CreateContainerConfigError" || r.Reason == "ContainerCreating" {
			next = min(next, retryAfter)
		}
	}
	if err := w.writeStatus(ctx, pod, run, state, a, ready, started); err != nil {
		k.log.Warn("pod status", "pod", klogName(pod), "err", err)
		next = min(next, retryAfter)
	}
	if a.Done && !state.running() && !w.ended {
		// What the pod held is free: resizes waiting for room may fit.
		w.ended = true
		k.retryDeferredResizes()
	}
	if a.Done && !state.running() && !w.released {
		w.releaseVolumes(pod)
	}
	if pod.DeletionTimestamp != nil && a.Done && !state.running() && !state.anyReadySandbox() {
		w.finishDeletion(ctx, pod, state)
	}
	return max(next, 10*time.Millisecond), false
}

func klogName(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// execute carries out the actions; it reports whether it changed anything.
func (w *worker) execute(ctx context.Context, pod *corev1.Pod, state PodState, a Actions) bool {
	k := w.k
	acted := false
	for _, c := range state.Containers {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			delete(w.waiting, c.GetMetadata().GetName())
		}
	}
	if a.KillPod {
		if a.CreateSandbox && len(state.Sandboxes) > 0 {
			k.recorder.Event(pod, corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		}
		k.killPod(ctx, pod, state, w.gracePeriod(pod))
		acted = true
	}
	for _, kill := range a.Kill {
		k.killContainer(ctx, pod, specOf(pod, kill.Name), findContainer(state, kill.ID), killGrace(pod, kill), kill.Message)
		acted = true
	}
	for _, wt := range a.Wait {
		w.setWaiting(wt.Name, "CrashLoopBackOff", fmt.Sprintf("back-off %v restarting failed container=%s pod=%s", wt.Delay, wt.Name, podName(pod)))
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", wt.Name, podName(pod))
	}
	if !a.CreateSandbox && len(a.Start) == 0 {
		return acted
	}
	podIPs := statusIPs(state.readySandbox())
	vols, err := k.volumes.SetUp(ctx, pod, volume.Env{PodIPs: podIPs, HostIPs: k.hostIPs(), Allocatable: k.allocatable()})
	// A volume that cannot be set up yet (a configMap not there) is
	// tried again soon, not at the next periodic sync.
	w.mountFailed = err != nil
	if err != nil {
		k.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
		return acted
	}
	w.volumesAt = time.Now()
	sbID, attempt := a.SandboxID, uint32(0)
	if sb := state.readySandbox(); sb != nil && !a.CreateSandbox {
		attempt = sb.GetMetadata().GetAttempt()
	}
	if a.CreateSandbox {
		attempt = a.SandboxAttempt
		if sbID, err = k.runSandbox(ctx, pod, attempt); err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return true
		}
		limits := podCgroupFor(pod)
		w.resizing.podLimits = &limits
		acted = true
		st, err := k.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbID})
		if err != nil {
			return acted
		}
		podIPs = statusIPs(st.Status)
		// The volumes' downward API may show the pod's IP now.
		if _, err := k.volumes.SetUp(ctx, pod, volume.Env{PodIPs: podIPs, HostIPs: k.hostIPs(), Allocatable: k.allocatable()}); err != nil {
			k.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
		}
	}
	if err := k.writeHosts(pod, podIPs); err != nil {
		k.log.Warn("write /etc/hosts", "pod", klogName(pod), "err", err)
	}
	sbCfg, err := k.sandboxConfig(pod, attempt)
	if err != nil {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		return acted
	}
	for _, s := range a.Start {
		acted = true
		if !w.startContainer(ctx, pod, state, sbID, sbCfg, s, podIPs, vols) && s.Init {
			break
		}
	}
	return acted
}

func statusIPs(sb *runtimeapi.PodSandboxStatus) []string {
	if sb == nil || sb.Network == nil || sb.Network.Ip == "" {
		return nil
	}
	out := []string{sb.Network.Ip}
	for _, ip := range sb.Network.AdditionalIps {
		out = append(out, ip.Ip)
	}
	return out
}

func specOf(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func findContainer(state PodState, id string) *runtimeapi.ContainerStatus {
	for _, c := range state.Containers {
		if c.Id == id {
			return c
		}
	}
	return nil
}

// gracePeriod is the pod's termination grace period now.
func gracePeriod(pod *corev1.Pod) int64 {
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		return *pod.DeletionGracePeriodSeconds
	}
	return ptr.Deref(pod.Spec.TerminationGracePeriodSeconds, 30)
}

// killGrace is the grace of a single container's kill: a probe's own
// terminationGracePeriodSeconds wins, as upstream.
func killGrace(pod *corev1.Pod, kill Kill) int64 {
	if c := specOf(pod, kill.Name); c != nil {
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.StartupProbe} {
			if p != nil && p.TerminationGracePeriodSeconds != nil {
				return *p.TerminationGracePeriodSeconds
			}
		}
	}
	return gracePeriod(pod)
}

// startContainer pulls, creates and starts one container, recording
// upstream's events; false when it did not start.
func (w *worker) startContainer(ctx context.Context, pod *corev1.Pod, state PodState, sbID string, sbCfg *runtimeapi.PodSandboxConfig, s Start, podIPs []string, vols map[string]volume.Mounted) bool {
	k, c := w.k, s.Container
	ref := w.ensureImage(ctx, pod, c)
	if ref == "" {
		return false
	}
	if last := state.latest(c.Name, ""); exited(last) || stale(last) {
		// It ran long enough: start over. A container that never started
		// (a failed StartContainer) has no StartedAt and ran for nothing.
		if last.StartedAt > 0 && time.Duration(last.FinishedAt-last.StartedAt) > 10*time.Minute {
			w.backoff[c.Name] = 0
		}
		w.backoff[c.Name] = nextBackoff(w.backoff[c.Name])
	}
	if s.Ephemeral && s.Target != "" && s.TargetID == "" {
		msg := fmt.Sprintf("unable to find target container %s", s.Target)
		w.setWaiting(c.Name, "CreateContainerConfigError", msg)
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", msg)
		return false
	}
	cfg, err := k.containerConfig(ctx, containerInput{Pod: pod, Container: c, RestartCount: s.RestartCount, ImageRef: ref, PodIPs: podIPs, Volumes: vols, TargetID: s.TargetID,
		Userns: sbCfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()})
	if err != nil {
		w.setWaiting(c.Name, "CreateContainerConfigError", err.Error())
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return false
	}
	k.opts.Metrics.ContainerStarted(containerType(s))
	created, err := k.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sbCfg})
	if err != nil {
		w.setWaiting(c.Name, "CreateContainerError", err.Error())
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", grpcMessage(err))
		return false
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if _, err := k.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		w.setWaiting(c.Name, "RunContainerError", grpcMessage(err))
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", grpcMessage(err))
		return false
	}
	delete(w.waiting, c.Name)
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		ip := ""
		if len(podIPs) > 0 {
			ip = podIPs[0]
		}
		if err := k.runHook(ctx, pod, c, created.ContainerId, ip, c.Lifecycle.PostStart, "PostStart"); err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPostStartHook", "%v", err)
			cs, _ := k.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: created.ContainerId})
			if cs != nil {
				k.killContainer(ctx, pod, c, cs.Status, gracePeriod(pod), "FailedPostStartHook")
			}
			return false
		}
	}
	return true
}

// syncProbes probes exactly the running containers.
func (w *worker) syncProbes(ctx context.Context, pod *corev1.Pod, state PodState) {
	var running []probe.Container
	sb := state.readySandbox()
	for _, cs := range state.Containers {
		if cs.State != runtimeapi.ContainerState_CONTAINER_RUNNING || sb == nil || state.SandboxOf[cs.Id] != sb.Id {
			continue
		}
		if spec := specOf(pod, cs.GetMetadata().GetName()); spec != nil {
			running = append(running, probe.Container{ID: cs.Id, Spec: spec, StartedAt: time.Unix(0, cs.StartedAt)})
		}
	}
	ip := ""
	if ips := statusIPs(sb); len(ips) > 0 {
		ip = ips[0]
	}
	w.k.probes.Sync(ctx, pod, ip, running)
}

// writeStatus writes the pod's status through the status subresource
// when it differs from what the API and the worker last saw. run is the
// pod with its allocation.
func (w *worker) writeStatus(ctx context.Context, pod, run *corev1.Pod, state PodState, a Actions, ready, started map[string]bool) error {
	k := w.k
	w.readMessages(state)
	st := ComputeStatus(StatusInput{
		Pod: pod, Allocated: run, State: state, Ready: ready, Started: started, Waiting: w.waiting, Messages: w.messages,
		HostIPs: k.hostIPs(), RuntimeName: k.node.RuntimeName(), Done: a.Done && !state.running(), Now: time.Now(),
		DeadlineExceeded: a.DeadlineExceeded, Resize: w.resizing.conditions(),
	})
	b, _ := json.Marshal(st)
	// Compared with the API's status: pod may be the worker's view of it
	// (an evicted pod's, Failed already).
	base := pod
	if api := w.currentPod(); api != nil && api.UID == pod.UID {
		base = api
	}
	if isStaticPod(pod) {
		// A static pod's status lives on its mirror pod.
		if base = k.mirrorOf(pod); base == nil {
			return nil
		}
	}
	cur, _ := json.Marshal(base.Status)
	// What was written is remembered with the object it went to: a
	// static pod's new mirror gets the status again.
	if string(b) == string(cur) || string(base.UID)+string(b) == w.written {
		return nil
	}
	upd := base.DeepCopy()
	upd.Status = st
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		latest, gerr := k.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if latest.UID != base.UID {
			return nil
		}
		if r := w.rejection(); r != nil {
			latest = rejectedPod(latest, r)
		}
		if msg := w.evictedMessage(); msg != "" {
			latest = evictedPod(latest, msg, time.Now())
		}
		st = ComputeStatus(StatusInput{
			Pod: latest, Allocated: run, State: state, Ready: ready, Started: started, Waiting: w.waiting, Messages: w.messages,
			HostIPs: k.hostIPs(), RuntimeName: k.node.RuntimeName(), Done: a.Done && !state.running(), Now: time.Now(),
			DeadlineExceeded: a.DeadlineExceeded, Resize: w.resizing.conditions(),
		})
		upd = latest.DeepCopy()
		upd.Status = st
		_, err = k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		b, _ = json.Marshal(st)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	w.written = string(base.UID) + string(b)
	if !w.startRecorded && st.Phase == corev1.PodRunning && (base.Status.Phase == corev1.PodPending || base.Status.Phase == "") {
		// Upstream's kubelet_pod_start_duration_seconds: the first
		// Pending-to-Running this kubelet writes.
		w.startRecorded = true
		k.opts.Metrics.PodRunning(w.firstSeen)
	}
	return nil
}

// containerType is upstream's container_type label of a start.
func containerType(s Start) string {
	switch {
	case s.Init:
		return metrics.ContainerTypeInit
	case s.Ephemeral:
		return metrics.ContainerTypeEphemeral
	}
	return metrics.ContainerTypeRegular
}

// finishDeletion removes what is left of a deleted pod whose containers
// all stopped, then deletes the object for good (grace 0), as upstream.
func (w *worker) finishDeletion(ctx context.Context, pod *corev1.Pod, state PodState) {
	k := w.k
	if err := k.removePod(ctx, pod.UID, state); err != nil {
		k.log.Warn("remove pod", "pod", klogName(pod), "err", err)
		return
	}
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.log.Warn("delete pod", "pod", klogName(pod), "err", err)
	}
}

// removeAll stops and removes a pod that is no longer in the API.
func (w *worker) removeAll(ctx context.Context, state PodState) (time.Duration, bool) {
	k := w.k
	k.probes.RemovePod(w.uid)
	if state.running() || state.anyReadySandbox() {
		k.killPod(ctx, nil, state, 2)
	}
	if err := k.removePod(ctx, w.uid, state); err != nil {
		k.log.Warn("remove pod", "pod", w.uid, "err", err)
		return retryAfter, false
	}
	return 0, true
}

// withRestarts adds the containers a resize restarts to those the probes
// found unhealthy: both are killed and started again at once.
func withRestarts(unhealthy, restarts map[string]string) map[string]string {
	if len(restarts) == 0 {
		return unhealthy
	}
	out := make(map[string]string, len(unhealthy)+len(restarts))
	for id, msg := range unhealthy {
		out[id] = msg
	}
	for id, msg := range restarts {
		if _, ok := out[id]; !ok {
			out[id] = msg
		}
	}
	return out
}
