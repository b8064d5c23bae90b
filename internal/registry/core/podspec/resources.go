package podspec

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
)

// The names upstream knows without a domain prefix.
var standardResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices,
	corev1.ResourceReplicationControllers, corev1.ResourceSecrets, corev1.ResourceConfigMaps,
	corev1.ResourcePersistentVolumeClaims, corev1.ResourceStorage, corev1.ResourceRequestsStorage,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// Counted resources, whose quantities must be whole numbers.
var integerResources = []corev1.ResourceName{
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices,
	corev1.ResourceReplicationControllers, corev1.ResourceSecrets, corev1.ResourceConfigMaps,
	corev1.ResourcePersistentVolumeClaims, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// IsHugePages reports whether name is a hugepages-<size> resource.
func IsHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// IsNativeResource reports whether name is unprefixed or in the
// kubernetes.io domain.
func IsNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

// IsExtendedResource reports whether name is a device-plugin style
// resource (example.com/gpu): outside kubernetes.io, and valid as a quota
// name once prefixed with "requests.".
func IsExtendedResource(name corev1.ResourceName) bool {
	if IsNativeResource(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// IsOvercommitAllowed reports whether requests may be below limits for
// name: true for native resources other than hugepages.
func IsOvercommitAllowed(name corev1.ResourceName) bool {
	return IsNativeResource(name) && !IsHugePages(name)
}

func isStandardResource(name corev1.ResourceName) bool {
	return slices.Contains(standardResources, name) || IsHugePages(name) ||
		strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix+corev1.ResourceHugePagesPrefix)
}

func isIntegerResource(name corev1.ResourceName) bool {
	return slices.Contains(integerResources, name) || IsExtendedResource(name)
}

func resourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	if errs := invalidEach(p, name, validation.IsQualifiedName(string(name))); len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !isStandardResource(name) {
		return field.ErrorList{field.Invalid(p, name, "must be a standard resource type or fully qualified")}
	}
	return nil
}

// containerResourceName allows cpu, memory, ephemeral-storage, hugepages
// and extended resources.
func containerResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	errs := resourceName(name, p)
	if !strings.Contains(string(name), "/") {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage && !IsHugePages(name) {
			return append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !IsNativeResource(name) && !IsExtendedResource(name) {
		return append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// podResourceName allows what pod-level resources support.
func podResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	if errs := resourceName(name, p); len(errs) > 0 {
		return errs
	}
	if !resourcehelper.IsSupportedPodLevelResource(name) {
		return field.ErrorList{field.NotSupported(p, name, sets.List(resourcehelper.SupportedPodLevelResources()))}
	}
	return nil
}

// ValidateQuantity checks a resource quantity: not negative, and whole for
// counted and extended resources.
func ValidateQuantity(name corev1.ResourceName, q resource.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(p, q.String(), "must be greater than or equal to 0"))
	}
	if isIntegerResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(p, q, "must be an integer"))
	}
	return errs
}

// ValidateResourceRequirements checks a container's resources: known
// names, valid quantities, requests <= limits (equal for hugepages and
// extended resources), and claims naming entries of the pod's
// resourceClaims (claimNames; nil when there are none).
func ValidateResourceRequirements(req *corev1.ResourceRequirements, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	return validateResourceRequirements(req, containerResourceName, claimNames, fldPath)
}

func validateResourceRequirements(req *corev1.ResourceRequirements, nameFn func(corev1.ResourceName, *field.Path) field.ErrorList, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	limCPUOrMem, reqCPUOrMem, hugePages := false, false, false
	for _, name := range sortedNames(req.Limits) {
		q := req.Limits[name]
		p := limPath.Key(string(name))
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, ValidateQuantity(name, q, p)...)
		if IsHugePages(name) {
			hugePages = true
			errs = append(errs, hugePageValue(name, q, p)...)
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			limCPUOrMem = true
		}
	}
	for _, name := range sortedNames(req.Requests) {
		q := req.Requests[name]
		p := reqPath.Key(string(name))
		errs = append(errs, nameFn(name, p)...)
		errs = append(errs, ValidateQuantity(name, q, p)...)
		if limit, ok := req.Limits[name]; ok {
			if q.Cmp(limit) != 0 && !IsOvercommitAllowed(name) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
			} else if q.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
			}
		} else if !IsOvercommitAllowed(name) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if IsHugePages(name) {
			hugePages = true
			errs = append(errs, hugePageValue(name, q, p)...)
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			reqCPUOrMem = true
		}
	}
	if hugePages && !limCPUOrMem && !reqCPUOrMem {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(errs, validateClaimRefs(req.Claims, claimNames, fldPath.Child("claims"))...)
}

// sortedNames gives map keys in a stable order, so errors come out the
// same way every time.
func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	return sets.List(sets.KeySet(list))
}

// hugePageValue requires a whole number of pages.
func hugePageValue(name corev1.ResourceName, q resource.Quantity, p *field.Path) field.ErrorList {
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 || q.Value()%size.Value() != 0 {
		return field.ErrorList{field.Invalid(p, q.String(), fmt.Sprintf("%s is not positive integer multiple of %s", q.String(), name))}
	}
	return nil
}

func validateClaimRefs(claims []corev1.ResourceClaim, podClaims sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		p := fldPath.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(p, ""))
			continue
		}
		if seen.Has(c.Name) {
			// Every request of this claim is already referenced.
			errs = append(errs, field.Duplicate(p, c.Name))
		} else {
			key := c.Name
			if c.Request != "" {
				errs = append(errs, dnsLabel(c.Request, p.Child("request"))...)
				key += "/" + c.Request
			}
			if seen.Has(key) {
				errs = append(errs, field.Duplicate(p, key))
			} else if c.Request == "" {
				// The whole claim overlaps any earlier request of it.
				for k := range seen {
					if i := strings.Index(k, "/"); i >= 0 && k[:i] == c.Name {
						errs = append(errs, field.Duplicate(p, c.Name))
					}
				}
			}
			seen.Insert(key)
		}
		if !podClaims.Has(c.Name) {
			e := field.NotFound(p, c.Name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			if podClaims.Len() == 0 {
				e.Detail += " which is empty"
			} else {
				e.Detail += ": " + strings.Join(sets.List(podClaims), ", ")
			}
			errs = append(errs, e)
		}
	}
	return errs
}

// validatePodResources checks pod-level resources (beta, on by default):
// names pod-level resources support, and consistency with the
// containers' own requests and limits.
func validatePodResources(spec *corev1.PodSpec, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	if spec.Resources == nil {
		return nil
	}
	p := fldPath.Child("resources")
	if spec.OS != nil && spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(p, "may not be set for a windows pod")}
	}
	var errs field.ErrorList
	if spec.Resources.Claims != nil {
		errs = append(errs, field.Forbidden(p.Child("claims"), "claims may not be set for Resources at pod-level"))
	}
	errs = append(errs, validateResourceRequirements(spec.Resources, podResourceName, claimNames, p)...)

	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: spec.Containers, InitContainers: spec.InitContainers}}
	aggrReqs := resourcehelper.AggregateContainerRequests(pod, resourcehelper.PodResourcesOptions{})
	for _, name := range sortedNames(aggrReqs) {
		podReq, ok := spec.Resources.Requests[name]
		if ok {
			if ctr := aggrReqs[name]; ctr.Cmp(podReq) > 0 {
				errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), podReq.String(),
					fmt.Sprintf("must be greater than or equal to aggregate container requests of %s", ctr.String())))
			}
		}
	}
	aggrLims := resourcehelper.AggregateContainerLimits(pod, resourcehelper.PodResourcesOptions{})
	for _, name := range sortedNames(aggrLims) {
		if !IsHugePages(name) {
			continue
		}
		if podLim, ok := spec.Resources.Limits[name]; ok {
			if ctr := aggrLims[name]; ctr.Cmp(podLim) > 0 {
				errs = append(errs, field.Invalid(p.Child("limits").Key(string(name)), podLim.String(),
					fmt.Sprintf("must be greater than or equal to aggregate container limits of %s", ctr.String())))
			}
		}
	}
	for i, c := range spec.Containers {
		for _, name := range sortedNames(c.Resources.Limits) {
			podLim, ok := spec.Resources.Limits[name]
			if ctrLim := c.Resources.Limits[name]; ok && ctrLim.Cmp(podLim) > 0 {
				// Upstream's path for this one reads oddly, but it is the
				// path clients see.
				errs = append(errs, field.Invalid(p.Child("containers").Index(i).Key(string(name)).Child("limits"), ctrLim.String(),
					fmt.Sprintf("must be less than or equal to pod limits of %s", podLim.String())))
			}
		}
	}
	return errs
}
