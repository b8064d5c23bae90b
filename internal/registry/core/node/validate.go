package node

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a node: the taint and avoid-pods annotations, taints,
// resource quantities in status, declared features, and pod CIDRs (valid,
// at most one per IP family).
func Validate(n *corev1.Node) field.ErrorList {
	meta := field.NewPath("metadata")
	errs := validateNodeAnnotations(n.Annotations, meta.Child("annotations"))
	if len(n.Spec.Taints) > 0 {
		// Upstream reports spec taints under metadata; clients see that
		// path, so it is kept.
		errs = append(errs, ValidateTaints(n.Spec.Taints, meta.Child("taints"))...)
	}
	errs = append(errs, validateResources(n)...)
	if swap := n.Status.NodeInfo.Swap; swap != nil && swap.Capacity != nil && *swap.Capacity <= 0 {
		errs = append(errs, field.Invalid(meta.Child("nodeSwapStatus", "capacity"), *swap.Capacity, "must be greater than zero"))
	}
	errs = append(errs, validateDeclaredFeatures(n.Status.DeclaredFeatures, field.NewPath("status", "declaredFeatures"))...)
	if len(n.Spec.PodCIDRs) > 0 {
		p := field.NewPath("spec", "podCIDRs")
		for i, cidr := range n.Spec.PodCIDRs {
			errs = append(errs, validation.IsValidCIDRForLegacyField(p.Index(i), cidr, true, nil)...)
		}
		if len(n.Spec.PodCIDRs) > 1 && !dualStackCIDRs(n.Spec.PodCIDRs) {
			errs = append(errs, field.Invalid(p, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
	}
	return errs
}

// dualStackCIDRs reports a valid pair: one IPv4 and one IPv6 CIDR.
func dualStackCIDRs(cidrs []string) bool {
	if len(cidrs) != 2 {
		return false
	}
	v4 := 0
	for _, c := range cidrs {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			return false
		}
		if ip.To4() != nil {
			v4++
		}
	}
	return v4 == 1
}

// ValidateUpdate checks what may change on an update (of the node or its
// status): pod CIDRs and providerID once set, the external ID, and no
// duplicate addresses.
func ValidateUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateNodeAnnotations(n.Annotations, field.NewPath("metadata", "annotations"))
	errs = append(errs, validateResources(n)...)
	errs = append(errs, validateDeclaredFeatures(n.Status.DeclaredFeatures, field.NewPath("status", "declaredFeatures"))...)
	seen := make(map[corev1.NodeAddress]bool, len(n.Status.Addresses))
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	// The node IPAM controller may assign CIDRs once; then they stay.
	if len(old.Spec.PodCIDRs) > 0 {
		const msg = "node updates may not change podCIDR except from \"\" to valid"
		p := field.NewPath("spec", "podCIDRs")
		if len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(p, msg))
		} else {
			for i := range old.Spec.PodCIDRs {
				if old.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(p, msg))
				}
			}
		}
	}
	// The cloud node controller may set providerID once.
	if old.Spec.ProviderID != "" {
		p := field.NewPath("spec", "providerID")
		if n.Spec.ProviderID == "" {
			errs = append(errs, field.Invalid(p, nil, "field cannot be cleared once set"))
		} else if n.Spec.ProviderID != old.Spec.ProviderID {
			errs = append(errs, field.Invalid(p, nil, "field cannot be modified once set"))
		}
	}
	if n.Spec.ConfigSource != nil {
		errs = append(errs, validateConfigSource(n.Spec.ConfigSource, field.NewPath("spec", "configSource"))...)
	}
	if n.Status.Config != nil {
		errs = append(errs, validateConfigStatus(n.Status.Config, field.NewPath("status", "config"))...)
	}
	if len(n.Spec.Taints) > 0 {
		errs = append(errs, ValidateTaints(n.Spec.Taints, field.NewPath("metadata", "taints"))...)
	}
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// ValidateTaints checks taints: key a label name, value a label value,
// effect required and known, and each key+effect pair once.
func ValidateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, podspec.ValidateTaintEffect(t.Effect, false, p.Child("effect"))...)
		if seen[t.Effect].Has(t.Key) {
			e := field.Duplicate(p, t)
			e.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, e)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = sets.New[string]()
		}
		seen[t.Effect].Insert(t.Key)
	}
	return errs
}

func validateNodeAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if raw := annotations[corev1.TaintsAnnotationKey]; raw != "" {
		var taints []corev1.Taint
		if err := json.Unmarshal([]byte(raw), &taints); err != nil {
			errs = append(errs, field.Invalid(fldPath, corev1.TaintsAnnotationKey, err.Error()))
		} else if len(taints) > 0 {
			errs = append(errs, ValidateTaints(taints, fldPath.Child(corev1.TaintsAnnotationKey))...)
		}
	}
	if raw := annotations[corev1.PreferAvoidPodsAnnotationKey]; raw != "" {
		var avoid corev1.AvoidPods
		if err := json.Unmarshal([]byte(raw), &avoid); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("AvoidPods"), corev1.PreferAvoidPodsAnnotationKey, err.Error()))
		} else {
			for i, e := range avoid.PreferAvoidPods {
				p := fldPath.Child(corev1.PreferAvoidPodsAnnotationKey).Index(i)
				switch c := e.PodSignature.PodController; {
				case c == nil:
					errs = append(errs, field.Required(p.Child("PodSignature"), ""))
				case c.Controller == nil || !*c.Controller:
					errs = append(errs, field.Invalid(p.Child("PodSignature", "PodController", "Controller"), false, "must point to a controller"))
				}
			}
		}
	}
	return errs
}

func validateResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"capacity", n.Status.Capacity}, {"allocatable", n.Status.Allocatable}} {
		for _, k := range sets.List(sets.KeySet(list.rl)) {
			errs = append(errs, podspec.ValidateQuantity(k, list.rl[k], field.NewPath("status", list.name, string(k)))...)
		}
	}
	return errs
}

// Feature names a node declares: an UpperCamelCase segment, then
// '/'-separated segments.
var featureName = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]*(\/[a-zA-Z][a-zA-Z0-9]*)*$`)

func validateDeclaredFeatures(features []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range features {
		switch {
		case len(f) > validation.DNS1123SubdomainMaxLength:
			errs = append(errs, field.Invalid(fldPath.Index(i), f, fmt.Sprintf("invalid feature name %q: must be no more than %d characters", f, validation.DNS1123SubdomainMaxLength)))
		case !featureName.MatchString(f):
			errs = append(errs, field.Invalid(fldPath.Index(i), f, fmt.Sprintf("invalid feature name %q: must start with an UpperCamelCase segment, with subsequent segments separated by '/' (e.g., MyFeature or MyFeature/mySubFeature), and contain only alphanumeric characters and slashes", f)))
		}
		if i+1 < len(features) {
			next := features[i+1]
			if f == next {
				errs = append(errs, field.Duplicate(fldPath.Index(i+1), next))
			} else if f > next {
				errs = append(errs, field.Invalid(fldPath.Index(i+1), next, "list must be sorted alphabetically"))
			}
		}
	}
	return errs
}

// The dynamic kubelet config source was removed; the checks remain for
// nodes that still carry one.
func validateConfigSource(s *corev1.NodeConfigSource, fldPath *field.Path) field.ErrorList {
	if s.ConfigMap == nil {
		return field.ErrorList{field.Invalid(fldPath, s, "exactly one reference subfield must be non-nil")}
	}
	p := fldPath.Child("configMap")
	var errs field.ErrorList
	if s.ConfigMap.UID != "" {
		errs = append(errs, field.Forbidden(p.Child("uid"), "uid must not be set in spec"))
	}
	if s.ConfigMap.ResourceVersion != "" {
		errs = append(errs, field.Forbidden(p.Child("resourceVersion"), "resourceVersion must not be set in spec"))
	}
	return append(errs, validateConfigMapRef(s.ConfigMap, p)...)
}

func validateConfigStatus(s *corev1.NodeConfigStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, src := range []struct {
		name string
		s    *corev1.NodeConfigSource
	}{{"assigned", s.Assigned}, {"active", s.Active}, {"lastKnownGood", s.LastKnownGood}} {
		if src.s == nil {
			continue
		}
		p := fldPath.Child(src.name)
		if src.s.ConfigMap == nil {
			errs = append(errs, field.Invalid(p, src.s, "exactly one reference subfield must be non-nil"))
			continue
		}
		cp := p.Child("configMap")
		if src.s.ConfigMap.UID == "" {
			errs = append(errs, field.Required(cp.Child("uid"), ""))
		}
		if src.s.ConfigMap.ResourceVersion == "" {
			errs = append(errs, field.Required(cp.Child("resourceVersion"), ""))
		}
		errs = append(errs, validateConfigMapRef(src.s.ConfigMap, cp)...)
	}
	return errs
}

func validateConfigMapRef(c *corev1.ConfigMapNodeConfigSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		for _, msg := range apimachineryvalidation.ValidateNamespaceName(c.Namespace, false) {
			errs = append(errs, field.Invalid(p.Child("namespace"), c.Namespace, msg))
		}
	}
	if c.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(c.Name, false) {
			errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
		}
	}
	if c.KubeletConfigKey == "" {
		errs = append(errs, field.Required(p.Child("kubeletConfigKey"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(c.KubeletConfigKey) {
			errs = append(errs, field.Invalid(p.Child("kubeletConfigKey"), c.KubeletConfigKey, msg))
		}
	}
	return errs
}

// Warnings returns upstream's node warnings: removed and deprecated spec
// fields, and pod CIDRs in a deprecated format.
func Warnings(n *corev1.Node) []string {
	var w []string
	if n.Spec.ConfigSource != nil {
		w = append(w, "spec.configSource: the feature is removed")
	}
	if n.Spec.DoNotUseExternalID != "" {
		w = append(w, "spec.externalID: this field is deprecated, and is unused by Kubernetes")
	}
	for i, c := range n.Spec.PodCIDRs {
		w = append(w, validation.GetWarningsForCIDR(field.NewPath("spec", "podCIDRs").Index(i), c)...)
	}
	return w
}
