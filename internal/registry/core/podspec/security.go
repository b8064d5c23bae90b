package podspec

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
)

// kemudi runs with privileged containers allowed (upstream's
// --allow-privileged=true, which every common distribution sets), so
// neither privileged nor hostProcess containers are refused by policy.

func validatePodSecurityContext(spec *corev1.PodSpec, specPath, fldPath *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, groupID(sc.FSGroup, fldPath.Child("fsGroup"))...)
	errs = append(errs, userID(sc.RunAsUser, fldPath.Child("runAsUser"))...)
	errs = append(errs, groupID(sc.RunAsGroup, fldPath.Child("runAsGroup"))...)
	for i := range sc.SupplementalGroups {
		errs = append(errs, groupID(&sc.SupplementalGroups[i], fldPath.Child("supplementalGroups").Index(i))...)
	}
	if len(sc.Sysctls) != 0 {
		errs = append(errs, validateSysctls(sc.Sysctls, spec, fldPath.Child("sysctls"))...)
	}
	if p := sc.FSGroupChangePolicy; p != nil && *p != corev1.FSGroupChangeOnRootMismatch && *p != corev1.FSGroupChangeAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("fsGroupChangePolicy"), p, []corev1.PodFSGroupChangePolicy{corev1.FSGroupChangeAlways, corev1.FSGroupChangeOnRootMismatch}))
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil && *p != corev1.SupplementalGroupsPolicyMerge && *p != corev1.SupplementalGroupsPolicyStrict {
		errs = append(errs, field.NotSupported(fldPath.Child("supplementalGroupsPolicy"), p, []corev1.SupplementalGroupsPolicy{corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict}))
	}
	if p := sc.SELinuxChangePolicy; p != nil && *p != corev1.SELinuxChangePolicyRecursive && *p != corev1.SELinuxChangePolicyMountOption {
		errs = append(errs, field.NotSupported(fldPath.Child("seLinuxChangePolicy"), *p, []corev1.PodSELinuxChangePolicy{corev1.SELinuxChangePolicyMountOption, corev1.SELinuxChangePolicyRecursive}))
	}
	return errs
}

const sysctlMaxLength = 253

// A sysctl name: dot or slash separated segments.
var sysctlRegexp = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

func validateSysctls(sysctls []corev1.Sysctl, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := make(map[string]bool)
	for i, s := range sysctls {
		p := fldPath.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case len(s.Name) > sysctlMaxLength || !sysctlRegexp.MatchString(s.Name):
			errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, sysctlRegexp)))
		case names[s.Name]:
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		// A namespaced sysctl would change the host's own namespace.
		ns, _, _ := utilsysctl.GetNamespace(s.Name)
		switch {
		case spec.HostNetwork && ns == utilsysctl.NetNamespace:
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
		case spec.HostIPC && ns == utilsysctl.IPCNamespace:
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
		}
		names[s.Name] = true
	}
	return errs
}

func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), sp.Type,
			[]corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, localDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func validateAppArmorProfile(ap *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if ap == nil {
		return nil
	}
	var errs field.ErrorList
	switch ap.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		p := fldPath.Child("localhostProfile")
		if ap.LocalhostProfile == nil {
			errs = append(errs, field.Required(p, "must be set when AppArmor type is Localhost"))
			break
		}
		profile := strings.TrimSpace(*ap.LocalhostProfile)
		if profile != *ap.LocalhostProfile {
			errs = append(errs, field.Invalid(p, *ap.LocalhostProfile, "must not be padded with whitespace"))
		} else if profile == "" {
			errs = append(errs, field.Required(p, "must be set when AppArmor type is Localhost"))
		}
		const maxLen = 4095 // PATH_MAX - 1
		if len(*ap.LocalhostProfile) > maxLen {
			errs = append(errs, field.TooLong(p, "", maxLen))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if ap.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), ap.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), ap.Type,
			[]corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}))
	}
	return errs
}

func validateContainerSecurityContext(sc *corev1.SecurityContext, hostUsers bool, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, userID(sc.RunAsUser, fldPath.Child("runAsUser"))...)
	errs = append(errs, groupID(sc.RunAsGroup, fldPath.Child("runAsGroup"))...)
	if sc.ProcMount != nil {
		if *sc.ProcMount != corev1.DefaultProcMount && *sc.ProcMount != corev1.UnmaskedProcMount {
			errs = append(errs, field.NotSupported(fldPath.Child("procMount"), *sc.ProcMount, []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}))
		}
		if hostUsers && *sc.ProcMount == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fldPath.Child("procMount"), sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, validateWindowsOptions(sc.WindowsOptions, fldPath.Child("windowsOptions"))...)
	return append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
}

const (
	maxGMSACredentialSpecKiB = 64
	maxRunAsUserNameDomain   = 256
	maxRunAsUserNameUser     = 104
)

var (
	ctrlRegexp           = regexp.MustCompile(`[[:cntrl:]]+`)
	netBiosRegexp        = regexp.MustCompile(`^[^\\/:\*\?"<>|\.][^\\/:\*\?"<>|]{0,14}$`)
	windowsDomainRegexp  = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	badUserCharsRegexp   = regexp.MustCompile(`["/\\:;|=,\+\*\?<>@\[\]]`)
	dotsSpacesOnlyRegexp = regexp.MustCompile(`^[\. ]+$`)
)

func validateWindowsOptions(o *corev1.WindowsSecurityContextOptions, fldPath *field.Path) field.ErrorList {
	if o == nil {
		return nil
	}
	var errs field.ErrorList
	if o.GMSACredentialSpecName != nil {
		errs = append(errs, invalidEach(fldPath.Child("gmsaCredentialSpecName"), o.GMSACredentialSpecName, validation.IsDNS1123Subdomain(*o.GMSACredentialSpecName))...)
	}
	if o.GMSACredentialSpec != nil {
		if l := len(*o.GMSACredentialSpec); l == 0 {
			errs = append(errs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), o.GMSACredentialSpec, "gmsaCredentialSpec cannot be an empty string"))
		} else if l > maxGMSACredentialSpecKiB*1024 {
			errs = append(errs, field.Invalid(fldPath.Child("gmsaCredentialSpec"), o.GMSACredentialSpec, fmt.Sprintf("gmsaCredentialSpec size must be under %d KiB", maxGMSACredentialSpecKiB)))
		}
	}
	if o.RunAsUserName == nil {
		return errs
	}
	p := fldPath.Child("runAsUserName")
	name := *o.RunAsUserName
	bad := func(msg string) { errs = append(errs, field.Invalid(p, o.RunAsUserName, msg)) }
	parts := strings.Split(name, "\\")
	switch {
	case name == "":
		bad("runAsUserName cannot be an empty string")
	case ctrlRegexp.MatchString(name):
		bad("runAsUserName cannot contain control characters")
	case len(parts) > 2:
		bad("runAsUserName cannot contain more than one backslash")
	default:
		domain, user := "", parts[0]
		if len(parts) == 2 {
			domain, user = parts[0], parts[1]
		}
		if len(domain) >= maxRunAsUserNameDomain {
			bad(fmt.Sprintf("runAsUserName's Domain length must be under %d characters", maxRunAsUserNameDomain))
		}
		if len(parts) == 2 && !(netBiosRegexp.MatchString(domain) || windowsDomainRegexp.MatchString(domain)) {
			bad("runAsUserName's Domain doesn't match the NetBios nor the DNS format")
		}
		if user == "" {
			bad("runAsUserName's User cannot be empty")
		} else if len(user) > maxRunAsUserNameUser {
			bad(fmt.Sprintf("runAsUserName's User length must not be longer than %d characters", maxRunAsUserNameUser))
		}
		if dotsSpacesOnlyRegexp.MatchString(user) {
			bad(`runAsUserName's User cannot contain only periods or spaces`)
		}
		if badUserCharsRegexp.MatchString(user) {
			bad(`runAsUserName's User cannot contain the following characters: "/\:;|=,+*?<>@[]`)
		}
	}
	return errs
}

// validateWindowsHostProcess: hostProcess is all or nothing within a pod,
// and needs hostNetwork.
func validateWindowsHostProcess(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var podHP *bool
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		podHP = spec.SecurityContext.WindowsOptions.HostProcess
	}
	count, hpCount := 0, 0
	visitContainers(spec, fldPath, func(c *corev1.Container, cPath *field.Path) {
		count++
		var hp *bool
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			hp = c.SecurityContext.WindowsOptions.HostProcess
		}
		if podHP != nil && hp != nil && *podHP != *hp {
			errs = append(errs, field.Invalid(cPath.Child("securityContext", "windowsOptions", "hostProcess"), *hp,
				fmt.Sprintf("pod hostProcess value must be identical if both are specified, was %v", *podHP)))
		}
		if (hp != nil && *hp) || (hp == nil && podHP != nil && *podHP) {
			hpCount++
		}
	})
	if hpCount > 0 {
		if hpCount != count {
			errs = append(errs, field.Invalid(fldPath, "", "If pod contains any hostProcess containers then all containers must be HostProcess containers"))
		}
		if !spec.HostNetwork {
			errs = append(errs, field.Invalid(fldPath.Child("hostNetwork"), spec.HostNetwork, "hostNetwork must be true if pod contains any hostProcess containers"))
		}
	}
	return errs
}

func validateLinux(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	const msg = "windows options cannot be set for a linux pod"
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("securityContext", "windowsOptions"), msg))
	}
	visitContainers(spec, fldPath, func(c *corev1.Container, cPath *field.Path) {
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(cPath.Child("securityContext", "windowsOptions"), msg))
		}
	})
	return errs
}

// validateWindows forbids the Linux-only settings in a Windows pod.
func validateWindows(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	const msg = "cannot be set for a windows pod"
	forbid := func(set bool, p *field.Path) {
		if set {
			errs = append(errs, field.Forbidden(p, msg))
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		p := fldPath.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, p.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, p.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, p.Child("seccompProfile"))
		forbid(sc.FSGroup != nil, p.Child("fsGroup"))
		forbid(sc.FSGroupChangePolicy != nil, p.Child("fsGroupChangePolicy"))
		forbid(len(sc.Sysctls) > 0, p.Child("sysctls"))
		forbid(sc.RunAsUser != nil, p.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, p.Child("runAsGroup"))
		forbid(sc.SupplementalGroups != nil, p.Child("supplementalGroups"))
		forbid(sc.SupplementalGroupsPolicy != nil, p.Child("supplementalGroupsPolicy"))
		forbid(sc.SELinuxChangePolicy != nil, p.Child("seLinuxChangePolicy"))
	}
	forbid(spec.HostUsers != nil, fldPath.Child("hostUsers"))
	forbid(spec.HostPID, fldPath.Child("hostPID"))
	forbid(spec.HostIPC, fldPath.Child("hostIPC"))
	forbid(spec.ShareProcessNamespace != nil, fldPath.Child("shareProcessNamespace"))
	visitContainers(spec, fldPath, func(c *corev1.Container, cPath *field.Path) {
		sc := c.SecurityContext
		if sc == nil {
			return
		}
		p := cPath.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, p.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, p.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, p.Child("seccompProfile"))
		forbid(sc.Capabilities != nil, p.Child("capabilities"))
		forbid(sc.ReadOnlyRootFilesystem != nil, p.Child("readOnlyRootFilesystem"))
		forbid(sc.Privileged != nil, p.Child("privileged"))
		forbid(sc.AllowPrivilegeEscalation != nil, p.Child("allowPrivilegeEscalation"))
		forbid(sc.ProcMount != nil, p.Child("procMount"))
		forbid(sc.RunAsUser != nil, p.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, p.Child("runAsGroup"))
	})
	return errs
}
