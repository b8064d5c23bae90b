package podspec

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerContext is what the container checks need to know about the
// pod around them.
type containerContext struct {
	volumes       map[string]corev1.VolumeSource
	claimNames    sets.Set[string]
	grace         *int64
	os            *corev1.PodOS
	restartPolicy corev1.RestartPolicy
	hostUsers     bool
}

func validateContainers(containers []corev1.Container, ctx containerContext, fldPath *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range containers {
		c := &containers[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, ctx, p)...)
		// Clashes with init and ephemeral container names are reported
		// on those lists.
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else {
			names.Insert(c.Name)
		}
		if c.Lifecycle != nil {
			errs = append(errs, validateLifecycle(c.Lifecycle, ctx.grace, ctx.os, p.Child("lifecycle"))...)
		}
		errs = append(errs, validateLivenessProbe(c.LivenessProbe, ctx.grace, p.Child("livenessProbe"))...)
		errs = append(errs, validateReadinessProbe(c.ReadinessProbe, ctx.grace, p.Child("readinessProbe"))...)
		errs = append(errs, validateStartupProbe(c.StartupProbe, ctx.grace, p.Child("startupProbe"))...)
		errs = append(errs, validateContainerRestartPolicy(c.RestartPolicy, c.RestartPolicyRules, p)...)
	}
	// All regular containers run at once: their host ports must not clash.
	return append(errs, hostPortConflicts(containers, fldPath)...)
}

func validateInitContainers(inits, regular []corev1.Container, ctx containerContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	for i := range inits {
		c := &inits[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, ctx, p)...)
		errs = append(errs, validateInitContainerRestartPolicy(c.RestartPolicy, c.RestartPolicyRules, p)...)
		sidecar := IsSidecar(c)

		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else if c.Name != "" {
			names.Insert(c.Name)
		}
		// Init containers run one at a time, so each only has to be
		// consistent with itself.
		errs = append(errs, hostPortConflicts([]corev1.Container{*c}, fldPath)...)

		if sidecar {
			if c.Lifecycle != nil {
				errs = append(errs, validateLifecycle(c.Lifecycle, ctx.grace, ctx.os, p.Child("lifecycle"))...)
			}
			errs = append(errs, validateLivenessProbe(c.LivenessProbe, ctx.grace, p.Child("livenessProbe"))...)
			errs = append(errs, validateReadinessProbe(c.ReadinessProbe, ctx.grace, p.Child("readinessProbe"))...)
			errs = append(errs, validateStartupProbe(c.StartupProbe, ctx.grace, p.Child("startupProbe"))...)
		} else {
			const msg = "may not be set for init containers without restartPolicy=Always"
			if c.Lifecycle != nil {
				errs = append(errs, field.Forbidden(p.Child("lifecycle"), msg))
			}
			if c.LivenessProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("livenessProbe"), msg))
			}
			if c.ReadinessProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("readinessProbe"), msg))
			}
			if c.StartupProbe != nil {
				errs = append(errs, field.Forbidden(p.Child("startupProbe"), msg))
			}
			for j, rp := range c.ResizePolicy {
				if rp.RestartPolicy == corev1.RestartContainer {
					errs = append(errs, field.Invalid(p.Child("resizePolicy").Index(j).Child("restartPolicy"), rp.RestartPolicy, "must not be set to 'RestartContainer' for non-sidecar initContainers"))
				}
			}
		}
	}
	return errs
}

// IsSidecar reports whether an init container is a sidecar: one with
// restartPolicy Always, which keeps running beside the regular containers.
func IsSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// ephemeralAllowed lists the container fields an ephemeral container may
// set; anything else is for the pod's own containers (probes, ports,
// resources, lifecycle, ...).
var ephemeralAllowed = map[string]bool{
	"Name": true, "Image": true, "Command": true, "Args": true, "WorkingDir": true,
	"EnvFrom": true, "Env": true, "VolumeMounts": true, "VolumeDevices": true,
	"TerminationMessagePath": true, "TerminationMessagePolicy": true,
	"ImagePullPolicy": true, "SecurityContext": true,
	"Stdin": true, "StdinOnce": true, "TTY": true,
}

func validateEphemeralContainers(ecs []corev1.EphemeralContainer, containers, inits []corev1.Container, ctx containerContext, fldPath *field.Path) field.ErrorList {
	if len(ecs) == 0 {
		return nil
	}
	var errs field.ErrorList
	others, all := sets.New[string](), sets.New[string]()
	for _, c := range containers {
		others.Insert(c.Name)
		all.Insert(c.Name)
	}
	for _, c := range inits {
		others.Insert(c.Name)
		all.Insert(c.Name)
	}
	for i := range ecs {
		ec := &ecs[i]
		p := fldPath.Index(i)
		c := (*corev1.Container)(&ec.EphemeralContainerCommon)
		errs = append(errs, validateContainerCommon(c, ctx, p)...)
		errs = append(errs, ValidateImageWhitespace(c, p)...)
		if all.Has(ec.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), ec.Name))
		} else {
			all.Insert(ec.Name)
		}
		if ec.TargetContainerName != "" && !others.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(p.Child("targetContainerName"), ec.TargetContainerName))
		}
		errs = append(errs, onlyAllowedFields(ec.EphemeralContainerCommon, ephemeralAllowed, "cannot be set for an Ephemeral Container", p)...)
		for j, vm := range ec.VolumeMounts {
			if vm.SubPath != "" {
				errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("subPath"), "cannot be set for an Ephemeral Container"))
			}
			if vm.SubPathExpr != "" {
				errs = append(errs, field.Forbidden(p.Child("volumeMounts").Index(j).Child("subPathExpr"), "cannot be set for an Ephemeral Container"))
			}
		}
	}
	return errs
}

// onlyAllowedFields forbids every non-zero field of the struct value that
// is not in allowed, naming it by its JSON-style lower camel name.
func onlyAllowedFields(value interface{}, allowed map[string]bool, msg string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		errs = append(errs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), msg))
	}
	return errs
}

// ValidateImageWhitespace is the pod-only image check (templates keep
// accepting " " for compatibility): no leading or trailing spaces.
func ValidateImageWhitespace(c *corev1.Container, fldPath *field.Path) field.ErrorList {
	if trimmed := strings.TrimSpace(c.Image); len(trimmed) != len(c.Image) {
		return field.ErrorList{field.Invalid(fldPath.Child("image"), c.Image, "must not have leading or trailing whitespace")}
	}
	return nil
}

// validateContainerCommon holds the checks shared by regular, init and
// ephemeral containers.
func validateContainerCommon(c *corev1.Container, ctx containerContext, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, dnsLabel(c.Name, p.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), ""))
	default:
		valid := []corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, valid))
	}
	mounts := mountPaths(c.VolumeMounts)
	devices := devicePaths(c.VolumeDevices)
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, devices, ctx.volumes, c, p.Child("volumeMounts"))...)
	errs = append(errs, validateVolumeDevices(c.VolumeDevices, mounts, ctx.volumes, p.Child("volumeDevices"))...)
	errs = append(errs, validatePullPolicy(c.ImagePullPolicy, p.Child("imagePullPolicy"))...)
	errs = append(errs, validateResourceRequirements(&c.Resources, containerResourceName, ctx.claimNames, p.Child("resources"))...)
	errs = append(errs, validateResizePolicy(c.ResizePolicy, ctx.restartPolicy, p.Child("resizePolicy"))...)
	errs = append(errs, validateContainerSecurityContext(c.SecurityContext, ctx.hostUsers, p.Child("securityContext"))...)
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) != 0 {
				errs = append(errs, invalidEach(p.Child("name"), port.Name, msgs)...)
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidEach(p.Child("containerPort"), port.ContainerPort, validation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, invalidEach(p.Child("hostPort"), port.HostPort, validation.IsValidPortNum(int(port.HostPort)))...)
		}
		switch port.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		case "":
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		default:
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.Protocol, []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}))
		}
	}
	return errs
}

// hostPortConflicts reports a host port (per protocol and host IP) used
// twice among containers that run at the same time.
func hostPortConflicts(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range containers {
		for j, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				errs = append(errs, field.Duplicate(fldPath.Index(i).Child("ports").Index(j).Child("hostPort"), key))
			} else {
				seen.Insert(key)
			}
		}
	}
	return errs
}

func validatePullPolicy(policy corev1.PullPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		valid := []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
		return field.ErrorList{field.NotSupported(fldPath, policy, valid)}
	}
}

func validateResizePolicy(policies []corev1.ContainerResizePolicy, podRestart corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[corev1.ResourceName]bool)
	for i, p := range policies {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
		if podRestart == corev1.RestartPolicyNever && p.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fldPath, p.RestartPolicy, "must be 'NotRequired' when pod `restartPolicy` is 'Never'"))
		}
	}
	return errs
}

var containerRestartPolicies = []corev1.ContainerRestartPolicy{
	corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyOnFailure,
}

// validateContainerRestartPolicy checks a container's own restartPolicy
// and its restartPolicyRules (beta, on by default in 1.37).
func validateContainerRestartPolicy(policy *corev1.ContainerRestartPolicy, rules []corev1.ContainerRestartRule, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case policy == nil && len(rules) == 0:
		return nil
	case policy == nil:
		errs = append(errs, field.Required(fldPath.Child("restartPolicy"), "must specify restartPolicy when restart rules are used"))
	case !containsPolicy(containerRestartPolicies, *policy):
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), *policy, containerRestartPolicies))
	}
	if len(rules) > 20 {
		errs = append(errs, field.TooMany(fldPath.Child("restartPolicyRules"), len(rules), 20))
	}
	for i, rule := range rules {
		p := fldPath.Child("restartPolicyRules").Index(i)
		if rule.Action != corev1.ContainerRestartRuleActionRestart {
			errs = append(errs, field.NotSupported(p.Child("action"), rule.Action, []corev1.ContainerRestartRuleAction{corev1.ContainerRestartRuleActionRestart}))
		}
		if rule.ExitCodes == nil {
			errs = append(errs, field.Required(p.Child("exitCodes"), "must be specified"))
			continue
		}
		switch rule.ExitCodes.Operator {
		case corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn:
		default:
			errs = append(errs, field.NotSupported(p.Child("exitCodes", "operator"), rule.ExitCodes.Operator,
				[]corev1.ContainerRestartRuleOnExitCodesOperator{corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn}))
		}
		if len(rule.ExitCodes.Values) > 255 {
			errs = append(errs, field.TooMany(p.Child("exitCodes", "values"), len(rule.ExitCodes.Values), 255))
		}
	}
	return errs
}

func containsPolicy(list []corev1.ContainerRestartPolicy, p corev1.ContainerRestartPolicy) bool {
	for _, v := range list {
		if v == p {
			return true
		}
	}
	return false
}

func validateInitContainerRestartPolicy(policy *corev1.ContainerRestartPolicy, rules []corev1.ContainerRestartRule, fldPath *field.Path) field.ErrorList {
	if policy == nil {
		if len(rules) > 0 {
			return field.ErrorList{field.Required(fldPath.Child("restartPolicy"), "must specify restartPolicy when restart rules are used")}
		}
		return nil
	}
	if *policy == corev1.ContainerRestartPolicyAlways {
		if len(rules) > 0 {
			return field.ErrorList{field.Forbidden(fldPath.Child("restartPolicyRules"), "restartPolicyRules are not allowed for init containers with restart policy Always")}
		}
		return nil
	}
	return validateContainerRestartPolicy(policy, rules, fldPath)
}

// handler is the union of probe and lifecycle handler actions.
type handler struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func validateHandler(h handler, grace *int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	// Each set action after the first is forbidden; the first is checked.
	take := func(set bool, name string, check func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, check()...)
	}
	take(h.exec != nil, "exec", func() field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("exec", "command"), "")}
		}
		return nil
	})
	take(h.httpGet != nil, "httpGet", func() field.ErrorList { return validateHTTPGet(h.httpGet, fldPath.Child("httpGet")) })
	take(h.tcpSocket != nil, "tcpSocket", func() field.ErrorList {
		return validatePortNumOrName(h.tcpSocket.Port, fldPath.Child("tcpSocket", "port"))
	})
	take(h.grpc != nil, "grpc", func() field.ErrorList {
		errs := validatePortNumOrName(intstr.FromInt32(h.grpc.Port), fldPath.Child("grpc", "port"))
		if m := h.grpc.Mode; m != nil && *m != corev1.GRPCProbeModePlaintext && *m != corev1.GRPCProbeModeTLS {
			errs = append(errs, field.NotSupported(fldPath.Child("grpc", "mode"), *m, []corev1.GRPCProbeMode{corev1.GRPCProbeModePlaintext, corev1.GRPCProbeModeTLS}))
		}
		return errs
	})
	take(h.sleep != nil, "sleep", func() field.ErrorList {
		// A missing grace period is reported on its own field.
		if grace != nil && (h.sleep.Seconds < 0 || h.sleep.Seconds > *grace) {
			return field.ErrorList{field.Invalid(fldPath.Child("sleep"), h.sleep.Seconds,
				fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace))}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(h *corev1.HTTPGetAction, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, fldPath.Child("port"))...)
	if h.Scheme != corev1.URISchemeHTTP && h.Scheme != corev1.URISchemeHTTPS {
		errs = append(errs, field.NotSupported(fldPath.Child("scheme"), h.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, header := range h.HTTPHeaders {
		errs = append(errs, invalidEach(fldPath.Child("httpHeaders"), header.Name, validation.IsHTTPHeaderName(header.Name))...)
	}
	if h.Protocol != nil {
		switch {
		case *h.Protocol != corev1.HTTPProtocolHTTP1 && *h.Protocol != corev1.HTTPProtocolHTTP2:
			errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *h.Protocol, []corev1.HTTPProtocol{corev1.HTTPProtocolHTTP1, corev1.HTTPProtocolHTTP2}))
		case *h.Protocol == corev1.HTTPProtocolHTTP2 && h.Scheme != corev1.URISchemeHTTP:
			errs = append(errs, field.Invalid(fldPath.Child("protocol"), *h.Protocol, "is only supported with HTTP (H2C)"))
		case *h.Protocol == corev1.HTTPProtocolHTTP2 && h.Host != "":
			errs = append(errs, field.Invalid(fldPath.Child("host"), h.Host, "must be empty when `protocol` is \"HTTP2\""))
		}
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch port.Type {
	case intstr.Int:
		return invalidEach(fldPath, port.IntValue(), validation.IsValidPortNum(port.IntValue()))
	case intstr.String:
		return invalidEach(fldPath, port.StrVal, validation.IsValidPortName(port.StrVal))
	default:
		return field.ErrorList{field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type))}
	}
}

func validateProbe(probe *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	h := handler{exec: probe.Exec, httpGet: probe.HTTPGet, tcpSocket: probe.TCPSocket, grpc: probe.GRPC}
	errs := validateHandler(h, grace, fldPath)
	errs = append(errs, nonNegative(int64(probe.InitialDelaySeconds), fldPath.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(int64(probe.TimeoutSeconds), fldPath.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(int64(probe.PeriodSeconds), fldPath.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(int64(probe.SuccessThreshold), fldPath.Child("successThreshold"))...)
	errs = append(errs, nonNegative(int64(probe.FailureThreshold), fldPath.Child("failureThreshold"))...)
	if probe.TerminationGracePeriodSeconds != nil && *probe.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *probe.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

func validateLivenessProbe(probe *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateProbe(probe, grace, fldPath)
	if probe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("successThreshold"), probe.SuccessThreshold, "must be 1"))
	}
	return errs
}

func validateReadinessProbe(probe *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateProbe(probe, grace, fldPath)
	if probe.TerminationGracePeriodSeconds != nil {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	return errs
}

func validateStartupProbe(probe *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	return validateLivenessProbe(probe, grace, fldPath)
}

func validateLifecycle(l *corev1.Lifecycle, grace *int64, os *corev1.PodOS, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if l.PostStart != nil {
		h := handler{exec: l.PostStart.Exec, httpGet: l.PostStart.HTTPGet, tcpSocket: l.PostStart.TCPSocket, sleep: l.PostStart.Sleep}
		errs = append(errs, validateHandler(h, grace, fldPath.Child("postStart"))...)
	}
	if l.PreStop != nil {
		h := handler{exec: l.PreStop.Exec, httpGet: l.PreStop.HTTPGet, tcpSocket: l.PreStop.TCPSocket, sleep: l.PreStop.Sleep}
		errs = append(errs, validateHandler(h, grace, fldPath.Child("preStop"))...)
	}
	if l.StopSignal != nil {
		errs = append(errs, validateStopSignal(*l.StopSignal, os, fldPath.Child("stopSignal"))...)
	}
	return errs
}

var windowsStopSignals = []corev1.Signal{corev1.SIGKILL, corev1.SIGTERM}

var linuxStopSignals = []corev1.Signal{
	corev1.SIGABRT, corev1.SIGALRM, corev1.SIGBUS, corev1.SIGCHLD, corev1.SIGCLD, corev1.SIGCONT,
	corev1.SIGFPE, corev1.SIGHUP, corev1.SIGILL, corev1.SIGINT, corev1.SIGIO, corev1.SIGIOT,
	corev1.SIGKILL, corev1.SIGPIPE, corev1.SIGPOLL, corev1.SIGPROF, corev1.SIGPWR, corev1.SIGQUIT,
	corev1.SIGSEGV, corev1.SIGSTKFLT, corev1.SIGSTOP, corev1.SIGSYS, corev1.SIGTERM, corev1.SIGTRAP,
	corev1.SIGTSTP, corev1.SIGTTIN, corev1.SIGTTOU, corev1.SIGURG, corev1.SIGUSR1, corev1.SIGUSR2,
	corev1.SIGVTALRM, corev1.SIGWINCH, corev1.SIGXCPU, corev1.SIGXFSZ, corev1.SIGRTMIN,
	corev1.SIGRTMINPLUS1, corev1.SIGRTMINPLUS2, corev1.SIGRTMINPLUS3, corev1.SIGRTMINPLUS4,
	corev1.SIGRTMINPLUS5, corev1.SIGRTMINPLUS6, corev1.SIGRTMINPLUS7, corev1.SIGRTMINPLUS8,
	corev1.SIGRTMINPLUS9, corev1.SIGRTMINPLUS10, corev1.SIGRTMINPLUS11, corev1.SIGRTMINPLUS12,
	corev1.SIGRTMINPLUS13, corev1.SIGRTMINPLUS14, corev1.SIGRTMINPLUS15, corev1.SIGRTMAXMINUS14,
	corev1.SIGRTMAXMINUS13, corev1.SIGRTMAXMINUS12, corev1.SIGRTMAXMINUS11, corev1.SIGRTMAXMINUS10,
	corev1.SIGRTMAXMINUS9, corev1.SIGRTMAXMINUS8, corev1.SIGRTMAXMINUS7, corev1.SIGRTMAXMINUS6,
	corev1.SIGRTMAXMINUS5, corev1.SIGRTMAXMINUS4, corev1.SIGRTMAXMINUS3, corev1.SIGRTMAXMINUS2,
	corev1.SIGRTMAXMINUS1, corev1.SIGRTMAX,
}

func validateStopSignal(sig corev1.Signal, os *corev1.PodOS, fldPath *field.Path) field.ErrorList {
	supported := func(list []corev1.Signal) field.ErrorList {
		for _, s := range list {
			if s == sig {
				return nil
			}
		}
		return field.ErrorList{field.NotSupported(fldPath, sig, sets.List(sets.New(list...)))}
	}
	switch {
	case os == nil:
		return field.ErrorList{field.Forbidden(fldPath, "may not be set for containers with empty `spec.os.name`")}
	case os.Name == corev1.Windows:
		return supported(windowsStopSignals)
	case os.Name == corev1.Linux:
		return supported(linuxStopSignals)
	}
	return nil
}
