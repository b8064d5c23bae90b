package kubelet

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ActionInput is what the next step of a pod is decided from.
type ActionInput struct {
	Pod   *corev1.Pod
	State PodState
	// Unhealthy maps a container ID whose liveness or startup probe
	// failed to the kill message.
	Unhealthy map[string]string
	// Started holds the IDs of running containers whose startup probe
	// succeeded (containers without a startup probe need not be listed).
	Started map[string]bool
	// Backoff is each container's current restart back-off (absent: none).
	Backoff map[string]time.Duration
	Now     time.Time
}

// Kill is a container to stop.
type Kill struct {
	ID, Name string
	Message  string // for the Killing event; "" = upstream's "Stopping container <name>"
}

// Start is a container to create and start.
type Start struct {
	Container    *corev1.Container
	Init         bool
	RestartCount int32
	// Ephemeral: a debugging container (kubectl debug), started once.
	Ephemeral bool
	// Target is the container whose process namespace an ephemeral
	// container shares (targetContainerName); TargetID is that
	// container's newest instance in the sandbox, "" when there is none.
	Target, TargetID string
}

// Wait is a container that should start again but is held back.
type Wait struct {
	Name  string
	Until time.Time
	Delay time.Duration
}

// Actions is what the worker does next for a pod, in this order: kill the
// pod (every container, then the sandboxes), or kill single containers;
// then create a sandbox; then start containers in order.
type Actions struct {
	KillPod        bool
	CreateSandbox  bool
	SandboxAttempt uint32
	SandboxID      string // the sandbox containers start in, when not created now
	Kill           []Kill
	Start          []Start
	Wait           []Wait
	// Done: the pod ran to its end, nothing will start again.
	Done bool
	// DeadlineExceeded: activeDeadlineSeconds passed; the pod fails.
	DeadlineExceeded bool
}

// deadlineMessage is upstream's status message for activeDeadlineSeconds.
const deadlineMessage = "Pod was active on the node longer than the specified deadline"

// pastDeadline reports whether the pod ran longer than activeDeadlineSeconds.
func pastDeadline(pod *corev1.Pod, now time.Time) bool {
	d := pod.Spec.ActiveDeadlineSeconds
	return d != nil && pod.Status.StartTime != nil && now.Sub(pod.Status.StartTime.Time) >= time.Duration(*d)*time.Second
}

// isSidecar is an init container that keeps running (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// containerHash identifies a container's spec, so that a changed spec
// restarts it. Resources are left out: a resize changes them in place,
// or restarts the container only where its resizePolicy says so.
func containerHash(c *corev1.Container) string {
	h0 := *c
	h0.Resources = corev1.ResourceRequirements{}
	b, _ := json.Marshal(&h0)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// legacyContainerHash is the hash kemudi gave containers before resizes
// (resources included), so that containers started by an older kemudi
// are not taken for changed and restarted after an upgrade.
func legacyContainerHash(c *corev1.Container) string {
	b, _ := json.Marshal(c)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

func exited(c *runtimeapi.ContainerStatus) bool {
	return c != nil && c.State == runtimeapi.ContainerState_CONTAINER_EXITED
}

func runningState(c *runtimeapi.ContainerStatus) bool {
	return c != nil && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING
}

// stale is a container that was made but never ran (or is lost): it is
// removed and started anew.
func stale(c *runtimeapi.ContainerStatus) bool {
	return c != nil && (c.State == runtimeapi.ContainerState_CONTAINER_CREATED || c.State == runtimeapi.ContainerState_CONTAINER_UNKNOWN)
}

// ComputeActions decides the pod's next step, as upstream's
// computePodActions: it does no I/O.
func ComputeActions(in ActionInput) Actions {
	pod := in.Pod
	var a Actions
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		a.KillPod = in.State.running() || in.State.anyReadySandbox()
		a.Done = true
		return a
	}
	if pastDeadline(pod, in.Now) {
		a.KillPod = in.State.running() || in.State.anyReadySandbox()
		a.Done, a.DeadlineExceeded = true, true
		return a
	}
	sb := in.State.readySandbox()
	readyCount := 0
	for _, s := range in.State.Sandboxes {
		if s.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			readyCount++
		}
	}
	if sb == nil || readyCount > 1 {
		return newSandbox(in)
	}
	a.SandboxID = sb.Id
	p := planner{in: in, sb: sb.Id, a: &a}
	// Ephemeral containers may start while the init containers still
	// run (upstream starts them first, so that a failing init container
	// can be debugged).
	a.Start = ephemeralStarts(in, sb.Id)
	if p.initContainers() {
		p.containers()
	}
	if a.Done {
		// Nothing starts in a pod that ended, ephemeral containers neither.
		a.Start = nil
	}
	return a
}

// newSandbox starts the pod over in a new sandbox, unless it already ran
// and its restart policy says it is over.
func newSandbox(in ActionInput) Actions {
	a := Actions{KillPod: in.State.running() || in.State.anyReadySandbox()}
	if len(in.State.Sandboxes) > 0 {
		a.SandboxAttempt = in.State.Sandboxes[0].GetMetadata().GetAttempt() + 1
	}
	pod := in.Pod
	if a.SandboxAttempt > 0 && len(in.State.Containers) > 0 {
		if pod.Spec.RestartPolicy == corev1.RestartPolicyNever || (pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && allSucceeded(in)) {
			a.Done = true
			return a
		}
	}
	a.CreateSandbox = true
	if len(pod.Spec.InitContainers) > 0 {
		c := &pod.Spec.InitContainers[0]
		a.Start = []Start{{Container: c, Init: true, RestartCount: in.State.nextRestartCount(c.Name)}}
		return a
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a.Start = append(a.Start, Start{Container: c, RestartCount: in.State.nextRestartCount(c.Name)})
	}
	return a
}

// allSucceeded: every regular container's last run exited 0.
func allSucceeded(in ActionInput) bool {
	for _, c := range in.Pod.Spec.Containers {
		cs := in.State.latest(c.Name, "")
		if !exited(cs) || cs.ExitCode != 0 {
			return false
		}
	}
	return true
}

type planner struct {
	in ActionInput
	sb string
	a  *Actions
}

// restart starts c again unless its back-off holds it.
func (p planner) restart(c *corev1.Container, init bool, last *runtimeapi.ContainerStatus) {
	if d := p.in.Backoff[c.Name]; d > 0 && last != nil && (exited(last) || stale(last)) {
		ref := last.FinishedAt
		if ref == 0 {
			ref = last.CreatedAt // never ran: the failed start counts
		}
		until := time.Unix(0, ref).Add(d)
		if p.in.Now.Before(until) {
			p.a.Wait = append(p.a.Wait, Wait{Name: c.Name, Until: until, Delay: d})
			return
		}
	}
	p.a.Start = append(p.a.Start, Start{Container: c, Init: init, RestartCount: p.in.State.nextRestartCount(c.Name)})
}

// unhealthy kills a running container whose probe failed or whose spec
// changed; it reports whether it did.
func (p planner) unhealthy(c *corev1.Container, cs *runtimeapi.ContainerStatus) bool {
	if msg, bad := p.in.Unhealthy[cs.Id]; bad {
		p.a.Kill = append(p.a.Kill, Kill{ID: cs.Id, Name: c.Name, Message: msg})
		return true
	}
	if h, ok := cs.Annotations[annotationHash]; ok && h != containerHash(c) && h != legacyContainerHash(c) {
		p.a.Kill = append(p.a.Kill, Kill{ID: cs.Id, Name: c.Name, Message: fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)})
		return true
	}
	return false
}

func (p planner) started(c *corev1.Container, cs *runtimeapi.ContainerStatus) bool {
	return c.StartupProbe == nil || p.in.Started[cs.Id]
}

// initContainers runs the init containers one after the other (sidecars
// stay running); it reports whether they are all done.
func (p planner) initContainers() bool {
	pod := p.in.Pod
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := p.in.State.latest(c.Name, p.sb)
		if stale(cs) {
			p.a.Kill = append(p.a.Kill, Kill{ID: cs.Id, Name: c.Name})
			p.restart(c, true, cs)
			return false
		}
		if isSidecar(c) {
			switch {
			case cs == nil:
				p.restart(c, true, nil)
				return false
			case exited(cs):
				p.restart(c, true, cs)
				return false
			case p.unhealthy(c, cs):
				p.restart(c, true, nil)
				return false
			case !p.started(c, cs):
				return false
			}
			continue
		}
		switch {
		case cs == nil:
			p.restart(c, true, nil)
			return false
		case runningState(cs):
			if p.unhealthy(c, cs) && pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				p.restart(c, true, nil)
			}
			return false
		case cs.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			// A failed init container fails the pod.
			p.a.KillPod, p.a.Done = true, true
			return false
		default:
			p.restart(c, true, cs)
			return false
		}
	}
	return true
}

// containers keeps the regular containers running as the restart
// policy says; when none runs or will run again, the pod is done.
func (p planner) containers() {
	pod := p.in.Pod
	keep := 0
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := p.in.State.latest(c.Name, p.sb)
		switch {
		case cs == nil:
			p.restart(c, false, nil)
		case stale(cs):
			p.a.Kill = append(p.a.Kill, Kill{ID: cs.Id, Name: c.Name})
			p.restart(c, false, cs)
		case runningState(cs):
			if !p.unhealthy(c, cs) {
				keep++
			} else if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				p.restart(c, false, nil)
			}
		case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways,
			pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && cs.ExitCode != 0:
			p.restart(c, false, cs)
		}
	}
	regularPending := 0
	for _, s := range p.a.Start {
		if !s.Init && !s.Ephemeral {
			regularPending++
		}
	}
	for _, w := range p.a.Wait {
		if !isInit(pod, w.Name) {
			regularPending++
		}
	}
	if keep == 0 && regularPending == 0 {
		// Every container ran to its end: stop the sidecars and the sandbox.
		p.a.KillPod, p.a.Done = true, true
		p.a.Kill, p.a.Start = nil, nil
	}
}

func isInit(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}
