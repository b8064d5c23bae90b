package kubelet

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// ephemeralStarts are the pod's ephemeral containers that never ran:
// each starts once and is never restarted, whatever its exit (upstream
// looks for any container of the name, in any sandbox). sb is the ready
// sandbox, where a target container must run.
func ephemeralStarts(in ActionInput, sb string) []Start {
	var out []Start
	for i := range in.Pod.Spec.EphemeralContainers {
		ec := &in.Pod.Spec.EphemeralContainers[i]
		if in.State.latest(ec.Name, "") != nil {
			continue
		}
		s := Start{Container: ephemeralSpec(ec), Ephemeral: true, Target: ec.TargetContainerName}
		if cs := in.State.latest(s.Target, sb); s.Target != "" && cs != nil {
			s.TargetID = cs.Id
		}
		out = append(out, s)
	}
	return out
}

// ephemeralSpec is an ephemeral container as a container: the fields are
// the same, the API only forbids some of them (ports, probes, resources).
func ephemeralSpec(ec *corev1.EphemeralContainer) *corev1.Container {
	c := corev1.Container(ec.EphemeralContainerCommon)
	return &c
}

// ephemeralStatuses are the ephemeral containers' statuses, by name as
// upstream sorts them: waiting, running or terminated like a regular
// container's, never ready, and without the started flag (upstream's
// probe manager sets it on regular and init containers only).
func ephemeralStatuses(in StatusInput, initializing bool) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for i := range in.Pod.Spec.EphemeralContainers {
		s := containerStatus(in, ephemeralSpec(&in.Pod.Spec.EphemeralContainers[i]), false, initializing)
		s.Ready, s.Started = false, nil
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
