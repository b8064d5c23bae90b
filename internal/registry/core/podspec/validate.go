package podspec

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidatePodSpecWithOptions validates a pod spec at fldPath: containers,
// volumes, scheduling constraints, security settings and the enums, as
// upstream's ValidatePodSpec does.
func ValidatePodSpecWithOptions(spec *corev1.PodSpec, fldPath *field.Path, opts Options) field.ErrorList {
	var errs field.ErrorList

	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	}
	grace := spec.TerminationGracePeriodSeconds
	hostUsers := spec.HostUsers == nil || *spec.HostUsers

	vols, volErrs := validateVolumes(spec.Volumes, opts.PodName, fldPath.Child("volumes"))
	errs = append(errs, volErrs...)
	claimNames := podClaimNames(spec.ResourceClaims)
	errs = append(errs, validateResourceClaims(spec.ResourceClaims, fldPath.Child("resourceClaims"))...)

	ctx := containerContext{
		volumes:       vols,
		claimNames:    claimNames,
		grace:         grace,
		os:            spec.OS,
		restartPolicy: spec.RestartPolicy,
		hostUsers:     hostUsers,
	}
	errs = append(errs, validateContainers(spec.Containers, ctx, fldPath.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, ctx, fldPath.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec.EphemeralContainers, spec.Containers, spec.InitContainers, ctx, fldPath.Child("ephemeralContainers"))...)
	errs = append(errs, validatePodResources(spec, claimNames, fldPath)...)

	errs = append(errs, validateHostNetworkPorts(spec, opts.IsPod, fldPath)...)
	errs = append(errs, validateRestartPolicy(spec.RestartPolicy, fldPath.Child("restartPolicy"))...)
	errs = append(errs, validateDNSPolicy(spec.DNSPolicy, fldPath.Child("dnsPolicy"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec, fldPath, fldPath.Child("securityContext"))...)
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(fldPath.Child("shareProcessNamespace"), *spec.ShareProcessNamespace, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	errs = append(errs, validateImagePullSecrets(spec.ImagePullSecrets, fldPath.Child("imagePullSecrets"))...)
	errs = append(errs, ValidateAffinity(spec.Affinity, fldPath.Child("affinity"))...)
	errs = append(errs, validateDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, gate := range spec.ReadinessGates {
		errs = append(errs, qualifiedName(string(gate.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	errs = append(errs, validateSchedulingGates(spec.SchedulingGates, fldPath.Child("schedulingGates"))...)
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	errs = append(errs, validateWindowsHostProcess(spec, fldPath)...)
	errs = append(errs, validateHostUsers(spec, fldPath)...)
	errs = append(errs, validateHostnameOverride(spec, fldPath)...)

	if spec.ServiceAccountName != "" {
		errs = append(errs, objectName(spec.ServiceAccountName, false, fldPath.Child("serviceAccountName"))...)
	}
	if sa := spec.DeprecatedServiceAccount; sa != spec.ServiceAccountName { //nolint:staticcheck // must stay equal to serviceAccountName
		errs = append(errs, field.Invalid(fldPath.Child("deprecatedServiceAccount"), sa, fmt.Sprintf("must be the same as serviceAccountName: %q", spec.ServiceAccountName)))
	}
	if spec.NodeName != "" {
		errs = append(errs, objectName(spec.NodeName, false, fldPath.Child("nodeName"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.Hostname != "" {
		errs = append(errs, dnsLabel(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dnsLabel(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	if len(spec.Tolerations) > 0 {
		errs = append(errs, ValidateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	}
	errs = append(errs, validateHostAliases(spec.HostAliases, fldPath.Child("hostAliases"))...)
	if spec.PriorityClassName != "" {
		errs = append(errs, objectName(spec.PriorityClassName, false, fldPath.Child("priorityClassName"))...)
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, objectName(*spec.RuntimeClassName, false, fldPath.Child("runtimeClassName"))...)
	}
	if spec.PreemptionPolicy != nil {
		errs = append(errs, validatePreemptionPolicy(*spec.PreemptionPolicy, fldPath.Child("preemptionPolicy"))...)
	}
	if spec.Overhead != nil {
		errs = append(errs, validateResourceRequirements(&corev1.ResourceRequirements{Limits: spec.Overhead}, containerResourceName, nil, fldPath.Child("overhead"))...)
	}
	if spec.OS != nil {
		osErrs := validateOS(spec.OS, fldPath.Child("os"))
		switch {
		case len(osErrs) > 0:
			errs = append(errs, osErrs...)
		case spec.OS.Name == corev1.Linux:
			errs = append(errs, validateLinux(spec, fldPath)...)
		case spec.OS.Name == corev1.Windows:
			errs = append(errs, validateWindows(spec, fldPath)...)
		}
	}
	if spec.SchedulingGroup != nil {
		errs = append(errs, validateSchedulingGroup(spec.SchedulingGroup, fldPath.Child("schedulingGroup"))...)
		if len(spec.EvictionResponders) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("schedulingGroup"), "may not be set when evictionResponders is set"))
		}
	}
	errs = append(errs, validateFileKeyRefVolumes(spec, fldPath)...)
	return errs
}

func validateRestartPolicy(policy corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		valid := []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
		return field.ErrorList{field.NotSupported(fldPath, policy, valid)}
	}
}

func validateDNSPolicy(policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		valid := []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
		return field.ErrorList{field.NotSupported(fldPath, policy, valid)}
	}
}

func validatePreemptionPolicy(policy corev1.PreemptionPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.PreemptLowerPriority, corev1.PreemptNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		valid := []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}
		return field.ErrorList{field.NotSupported(fldPath, policy, valid)}
	}
}

// Limits of the resolver configuration, from glibc's.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

func validateDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if cfg == nil {
		return nil
	}
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(fldPath.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validIP(fldPath.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range cfg.Searches {
		if search == "." {
			continue
		}
		search = strings.TrimSuffix(search, ".")
		errs = append(errs, invalidEach(fldPath.Child("searches").Index(i), search, validation.IsDNS1123SubdomainWithUnderscore(search))...)
	}
	for i, opt := range cfg.Options {
		if opt.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// validIP checks an IP address in one of the fields that kept the legacy
// parser, with the strict rules (no leading zeros, no IPv4-mapped IPv6)
// StrictIPCIDRValidation applies by default since 1.36.
func validIP(fldPath *field.Path, value string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, value, true, nil)
}

// validateHostNetworkPorts: with hostNetwork the container's ports are the
// node's, so hostPort must equal containerPort. Templates may leave
// hostPort 0; the pod's defaulting copies containerPort in.
func validateHostNetworkPorts(spec *corev1.PodSpec, isPod bool, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.Containers {
		portsPath := fldPath.Child("containers").Index(i).Child("ports")
		for j, port := range c.Ports {
			if hp, cp := port.HostPort, port.ContainerPort; (isPod || hp != 0) && hp != cp {
				errs = append(errs, field.Invalid(portsPath.Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateImagePullSecrets(secrets []corev1.LocalObjectReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ref := range secrets {
		if !reflect.DeepEqual(corev1.LocalObjectReference{Name: ref.Name}, ref) {
			errs = append(errs, field.Invalid(fldPath.Index(i), ref, "only name may be set"))
		}
	}
	return errs
}

func validateSchedulingGates(gates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, gate := range gates {
		errs = append(errs, qualifiedName(gate.Name, fldPath.Index(i))...)
		if seen.Has(gate.Name) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), gate.Name))
		}
		seen.Insert(gate.Name)
	}
	return errs
}

func validateHostAliases(aliases []corev1.HostAlias, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, alias := range aliases {
		errs = append(errs, validIP(fldPath.Index(i).Child("ip"), alias.IP)...)
		for j, hostname := range alias.Hostnames {
			errs = append(errs, dnsSubdomain(hostname, fldPath.Index(i).Child("hostnames").Index(j))...)
		}
	}
	return errs
}

func validateOS(os *corev1.PodOS, fldPath *field.Path) field.ErrorList {
	if os.Name == "" {
		return field.ErrorList{field.Required(fldPath.Child("name"), "")}
	}
	if os.Name != corev1.Linux && os.Name != corev1.Windows {
		return field.ErrorList{field.NotSupported(fldPath, os.Name, []corev1.OSName{corev1.Linux, corev1.Windows})}
	}
	return nil
}

// validateHostUsers: a pod in its own user namespace may not share the
// host's network, PID or IPC namespaces, nor use raw block devices.
func validateHostUsers(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if spec.HostUsers == nil || *spec.HostUsers {
		return nil
	}
	var errs field.ErrorList
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(fldPath.Child("hostNetwork"), "when `hostUsers` is false"))
	}
	// Upstream spells these two paths with capitals.
	if spec.HostPID {
		errs = append(errs, field.Forbidden(fldPath.Child("HostPID"), "when `hostUsers` is false"))
	}
	if spec.HostIPC {
		errs = append(errs, field.Forbidden(fldPath.Child("HostIPC"), "when `hostUsers` is false"))
	}
	visitContainers(spec, fldPath, func(c *corev1.Container, cPath *field.Path) {
		if len(c.VolumeDevices) > 0 {
			errs = append(errs, field.Forbidden(cPath.Child("volumeDevices"), "when `hostUsers` is false"))
		}
	})
	return errs
}

func validateHostnameOverride(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if spec.HostnameOverride == nil {
		return nil
	}
	var errs field.ErrorList
	p := fldPath.Child("hostnameOverride")
	if spec.SetHostnameAsFQDN != nil && *spec.SetHostnameAsFQDN {
		errs = append(errs, field.Forbidden(p, "may not be specified when setHostnameAsFQDN is true"))
	}
	if spec.HostNetwork {
		errs = append(errs, field.Forbidden(p, "may not be specified when hostNetwork is true"))
	}
	if len(*spec.HostnameOverride) > 64 {
		errs = append(errs, field.TooLong(p, "", 64))
	}
	return append(errs, dnsSubdomain(*spec.HostnameOverride, p)...)
}

func validateSchedulingGroup(group *corev1.PodSchedulingGroup, fldPath *field.Path) field.ErrorList {
	if group.PodGroupName == nil {
		return field.ErrorList{field.Invalid(fldPath.Child("podGroupName"), group.PodGroupName, "must specify one of: `podGroupName`")}
	}
	return objectName(*group.PodGroupName, false, fldPath.Child("podGroupName"))
}

// validateFileKeyRefVolumes: env values read from a file must name an
// emptyDir volume of the pod.
func validateFileKeyRefVolumes(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	sources := make(map[string]*corev1.VolumeSource, len(spec.Volumes))
	for i := range spec.Volumes {
		sources[spec.Volumes[i].Name] = &spec.Volumes[i].VolumeSource
	}
	var errs field.ErrorList
	visitContainers(spec, fldPath, func(c *corev1.Container, cPath *field.Path) {
		for j, env := range c.Env {
			if env.ValueFrom == nil || env.ValueFrom.FileKeyRef == nil {
				continue
			}
			name := env.ValueFrom.FileKeyRef.VolumeName
			p := cPath.Child("env").Index(j).Child("valueFrom", "fileKeyRef", "volumeName")
			src, found := sources[name]
			switch {
			case !found:
				errs = append(errs, field.NotFound(p, name))
			case src.EmptyDir == nil:
				errs = append(errs, field.Invalid(p, name, "referenced volume must be of type emptyDir"))
			}
		}
	})
	return errs
}

// visitContainers calls fn for every init, regular and ephemeral container
// with its path, in that order.
func visitContainers(spec *corev1.PodSpec, fldPath *field.Path, fn func(c *corev1.Container, cPath *field.Path)) {
	for i := range spec.InitContainers {
		fn(&spec.InitContainers[i], fldPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		fn(&spec.Containers[i], fldPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		fn((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), fldPath.Child("ephemeralContainers").Index(i))
	}
}
