package pod

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateStatusUpdate checks a /status update (the spec has already been
// copied from the stored pod): condition types, the nominated node, the
// QoS class fixed at creation, pod and host IPs, and that no container
// comes back from terminated when its restart policy forbids it.
func ValidateStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := validateAnnotationUpdates(pod, old, field.NewPath("metadata", "annotations"))
	status := field.NewPath("status")
	errs = append(errs, validateConditions(pod.Status.Conditions, status.Child("conditions"))...)
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(status.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(n, false) {
			errs = append(errs, field.Invalid(status.Child("nominatedNodeName"), n, msg))
		}
	}
	if pod.Status.ObservedGeneration < 0 {
		errs = append(errs, field.Invalid(status.Child("observedGeneration"), pod.Status.ObservedGeneration, "must be a non-negative integer"))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pod.Status.QOSClass, old.Status.QOSClass, status.Child("qosClass"))...)

	errs = append(errs, validateStateTransitions(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, old.Spec.Containers, &old.Spec, status.Child("containerStatuses"))...)
	errs = append(errs, validateStateTransitions(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses, old.Spec.InitContainers, &old.Spec, status.Child("initContainerStatuses"))...)
	// Ephemeral containers never restart.
	errs = append(errs, validateStateTransitions(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses, nil, nil, status.Child("ephemeralContainerStatuses"))...)
	errs = append(errs, validateClaimStatuses(pod.Status.ResourceClaimStatuses, pod.Spec.ResourceClaims, status.Child("resourceClaimStatuses"))...)
	errs = append(errs, validatePodIPs(pod, old)...)
	errs = append(errs, validateHostIPs(pod, old)...)
	return errs
}

// The conditions the system sets; others must be qualified names.
var systemConditions = []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized}

func validateConditions(conds []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conds {
		if c.ObservedGeneration < 0 {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("observedGeneration"), c.ObservedGeneration, "must be a non-negative integer"))
		}
		if sets.New(systemConditions...).Has(c.Type) {
			continue
		}
		// Upstream spells this path with a capital T.
		for _, msg := range validation.IsQualifiedName(string(c.Type)) {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("Type"), string(c.Type), msg))
		}
	}
	return errs
}

// validateStateTransitions forbids a terminated container from running
// again unless it may restart. containers is nil for ephemeral containers,
// which never restart.
func validateStateTransitions(statuses, old []corev1.ContainerStatus, containers []corev1.Container, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, o := range old {
		if o.State.Terminated == nil {
			continue
		}
		for _, s := range statuses {
			if s.Name != o.Name || s.State.Terminated != nil {
				continue
			}
			allowed := false
			for _, c := range containers {
				if c.Name == o.Name {
					allowed = ContainerShouldRestart(&c, spec, o.State.Terminated.ExitCode)
					break
				}
			}
			if !allowed {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
			break
		}
	}
	return errs
}

// ContainerShouldRestart reports whether a container that exited with
// exitCode is restarted: its restart rules first, then its own restart
// policy, then the pod's.
func ContainerShouldRestart(c *corev1.Container, spec *corev1.PodSpec, exitCode int32) bool {
	if c.RestartPolicy != nil {
		for _, rule := range c.RestartPolicyRules {
			if rule.ExitCodes == nil {
				continue
			}
			matched := false
			for _, v := range rule.ExitCodes.Values {
				matched = matched || v == exitCode
			}
			in := rule.ExitCodes.Operator == corev1.ContainerRestartRuleOnExitCodesOpIn
			notIn := rule.ExitCodes.Operator == corev1.ContainerRestartRuleOnExitCodesOpNotIn
			if ((in && matched) || (notIn && !matched)) && rule.Action == corev1.ContainerRestartRuleActionRestart {
				return true
			}
			if (in && matched) || (notIn && !matched) {
				break
			}
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	default:
		return true
	}
}

func validateClaimStatuses(statuses []corev1.PodResourceClaimStatus, claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range claims {
		names.Insert(c.Name)
	}
	seen := sets.New[string]()
	for i, s := range statuses {
		p := fldPath.Index(i)
		if !names.Has(s.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), s.Name, "must match the name of an entry in `spec.resourceClaims`"))
		}
		if seen.Has(s.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), s.Name))
		} else {
			seen.Insert(s.Name)
		}
		if s.ResourceClaimName != nil {
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*s.ResourceClaimName, false) {
				errs = append(errs, field.Invalid(p.Child("resourceClaimName"), s.ResourceClaimName, msg))
			}
		}
	}
	return errs
}

// validateIPs checks a list of pod or host IPs: valid addresses (old
// invalid ones may stay), at most one per family.
func validateIPs(ips, oldIPs []string, fldPath *field.Path, value interface{}) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIPForLegacyField(fldPath.Index(i), ip, true, oldIPs)...)
	}
	if len(ips) > 1 {
		v4, v6 := 0, 0
		for _, ip := range ips {
			switch parsed := net.ParseIP(ip); {
			case parsed == nil:
			case parsed.To4() != nil:
				v4++
			default:
				v6++
			}
		}
		if len(ips) > 2 || v4 != 1 || v6 != 1 {
			errs = append(errs, field.Invalid(fldPath, value, "may specify no more than one IP for each IP family"))
		}
	}
	return errs
}

func validatePodIPs(pod, old *corev1.Pod) field.ErrorList {
	p := field.NewPath("status", "podIPs")
	ips, oldIPs := make([]string, len(pod.Status.PodIPs)), make([]string, len(old.Status.PodIPs))
	for i, ip := range pod.Status.PodIPs {
		ips[i] = ip.IP
	}
	for i, ip := range old.Status.PodIPs {
		oldIPs[i] = ip.IP
	}
	errs := validateIPs(ips, oldIPs, p, pod.Status.PodIPs)
	switch hasIP, hasIPs := pod.Status.PodIP != "", len(ips) > 0; {
	case hasIP != hasIPs:
		errs = append(errs, field.Invalid(p, pod.Status.PodIPs, "podIP and podIPs must either both be set or both be unset"))
	case hasIPs && pod.Status.PodIP != ips[0]:
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), ips[0], "must be equal to `podIP`"))
	}
	return errs
}

func validateHostIPs(pod, old *corev1.Pod) field.ErrorList {
	if len(pod.Status.HostIPs) == 0 {
		return nil
	}
	p := field.NewPath("status", "hostIPs")
	var errs field.ErrorList
	if pod.Status.HostIP != pod.Status.HostIPs[0].IP {
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), pod.Status.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	ips, oldIPs := make([]string, len(pod.Status.HostIPs)), make([]string, len(old.Status.HostIPs))
	for i, ip := range pod.Status.HostIPs {
		ips[i] = ip.IP
	}
	for i, ip := range old.Status.HostIPs {
		oldIPs[i] = ip.IP
	}
	return append(errs, validateIPs(ips, oldIPs, p, pod.Status.HostIPs)...)
}
