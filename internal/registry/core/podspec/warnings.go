package podspec

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Node labels upstream warns about in selectors.
var deprecatedNodeLabels = map[string]string{
	"beta.kubernetes.io/arch":                       `deprecated since v1.14; use "kubernetes.io/arch" instead`,
	"beta.kubernetes.io/os":                         `deprecated since v1.14; use "kubernetes.io/os" instead`,
	"failure-domain.beta.kubernetes.io/region":      `deprecated since v1.17; use "topology.kubernetes.io/region" instead`,
	"failure-domain.beta.kubernetes.io/zone":        `deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
	"beta.kubernetes.io/instance-type":              `deprecated since v1.17; use "node.kubernetes.io/instance-type" instead`,
	"app.kubernetes.io/created-by":                  `deprecated since v1.9`,
	"scheduler.alpha.kubernetes.io/preferAvoidPods": `deprecated since v1.22; use Taints and Tolerations instead`,
	"node-role.kubernetes.io/master":                `use "node-role.kubernetes.io/control-plane" instead`,
}

// DeprecatedNodeLabel returns upstream's warning text for a deprecated
// node label key.
func DeprecatedNodeLabel(key string) (string, bool) {
	msg, ok := deprecatedNodeLabels[key]
	return msg, ok
}

// Volume plugins that no longer do anything.
var deprecatedVolumes = []struct {
	name, msg string
	set       func(v *corev1.Volume) bool
}{
	{"photonPersistentDisk", "deprecated in v1.11, non-functional in v1.16+", func(v *corev1.Volume) bool { return v.PhotonPersistentDisk != nil }},
	{"gitRepo", "deprecated in v1.11, and disabled by default in v1.33+", func(v *corev1.Volume) bool { return v.GitRepo != nil }},
	{"scaleIO", "deprecated in v1.16, non-functional in v1.22+", func(v *corev1.Volume) bool { return v.ScaleIO != nil }},
	{"flocker", "deprecated in v1.22, non-functional in v1.25+", func(v *corev1.Volume) bool { return v.Flocker != nil }},
	{"storageOS", "deprecated in v1.22, non-functional in v1.25+", func(v *corev1.Volume) bool { return v.StorageOS != nil }},
	{"quobyte", "deprecated in v1.22, non-functional in v1.25+", func(v *corev1.Volume) bool { return v.Quobyte != nil }},
	{"glusterfs", "deprecated in v1.25, non-functional in v1.26+", func(v *corev1.Volume) bool { return v.Glusterfs != nil }},
	{"cephfs", "deprecated in v1.28, non-functional in v1.31+", func(v *corev1.Volume) bool { return v.CephFS != nil }},
	{"rbd", "deprecated in v1.28, non-functional in v1.31+", func(v *corev1.Volume) bool { return v.RBD != nil }},
}

// Warnings returns upstream's warnings for a pod spec and its metadata:
// deprecated node labels, annotations and volume plugins, null selectors
// that match nothing, duplicates (host aliases, pull secrets, env vars,
// ports), fractional byte quantities and a negative grace period.
// templatePath is nil for a pod and e.g. "spec.template" for a workload,
// so the paths read "spec.x" or "spec.template.spec.x".
func Warnings(templatePath *field.Path, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	var w []string
	sp := templatePath.Child("spec")
	for _, k := range sets.List(sets.KeySet(spec.NodeSelector)) {
		if msg, ok := DeprecatedNodeLabel(k); ok {
			w = append(w, fmt.Sprintf("%s: %s", sp.Child("nodeSelector").Key(k), msg))
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		if r := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
			tp := sp.Child("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
			for i, term := range r.NodeSelectorTerms {
				w = append(w, termWarnings(term, false, tp.Index(i))...)
			}
		}
		pp := sp.Child("affinity", "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
		for i, term := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			w = append(w, termWarnings(term.Preference, true, pp.Index(i).Child("preference"))...)
		}
	}
	for i, c := range spec.TopologySpreadConstraints {
		p := sp.Child("topologySpreadConstraints").Index(i)
		if msg, ok := DeprecatedNodeLabel(c.TopologyKey); ok {
			w = append(w, fmt.Sprintf("%s: %s is %s", p.Child("topologyKey"), c.TopologyKey, msg))
		}
		if c.LabelSelector == nil {
			w = append(w, fmt.Sprintf("%s: a null labelSelector results in matching no pod", p.Child("labelSelector")))
		}
	}
	ap := templatePath.Child("metadata", "annotations")
	for _, k := range []string{"scheduler.alpha.kubernetes.io/critical-pod", "security.alpha.kubernetes.io/sysctls", "security.alpha.kubernetes.io/unsafe-sysctls"} {
		if _, ok := meta.Annotations[k]; ok {
			msg := `non-functional in v1.11+; use the "sysctls" field instead`
			if strings.HasPrefix(k, "scheduler") {
				msg = `non-functional in v1.16+; use the "priorityClassName" field instead`
			}
			w = append(w, fmt.Sprintf("%s: %s", ap.Key(k), msg))
		}
	}
	for i := range spec.Volumes {
		for _, d := range deprecatedVolumes {
			if d.set(&spec.Volumes[i]) {
				w = append(w, fmt.Sprintf("%s: %s", sp.Child("volumes").Index(i).Child(d.name), d.msg))
			}
		}
	}
	seen := sets.New[string]()
	for i, h := range spec.HostAliases {
		if seen.Has(h.IP) {
			w = append(w, fmt.Sprintf("%s: duplicate ip %q", sp.Child("hostAliases").Index(i).Child("ip"), h.IP))
		}
		seen.Insert(h.IP)
	}
	seen = sets.New[string]()
	for i, s := range spec.ImagePullSecrets {
		if len(spec.ImagePullSecrets) > 1 && seen.Has(s.Name) {
			w = append(w, fmt.Sprintf("%s: duplicate name %q", sp.Child("imagePullSecrets").Index(i).Child("name"), s.Name))
		}
		seen.Insert(s.Name)
	}
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			w = append(w, fmt.Sprintf("%s: invalid empty name %q", sp.Child("imagePullSecrets").Index(i).Child("name"), s.Name))
		}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := spec.Overhead[name]; ok && q.MilliValue()%1000 != 0 {
			w = append(w, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer", sp.Child("overhead").Key(string(name)), q.String()))
		}
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil {
		if _, ok := meta.Annotations[corev1.SeccompPodAnnotationKey]; ok {
			w = append(w, fmt.Sprintf(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, ap.Key(corev1.SeccompPodAnnotationKey)))
		}
	}
	visitContainers(spec, sp, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			if _, ok := meta.Annotations[corev1.SeccompContainerAnnotationKeyPrefix+c.Name]; ok {
				w = append(w, fmt.Sprintf(`%s: non-functional in v1.27+; use the "seccompProfile" field instead`, ap.Key(corev1.SeccompContainerAnnotationKeyPrefix+c.Name)))
			}
		}
		for _, kind := range []string{"limits", "requests"} {
			list := c.Resources.Limits
			if kind == "requests" {
				list = c.Resources.Requests
			}
			for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
				if q, ok := list[name]; ok && q.MilliValue()%1000 != 0 {
					w = append(w, fmt.Sprintf("%s: fractional byte value %q is invalid, must be an integer", p.Child("resources", kind).Key(string(name)), q.String()))
				}
			}
		}
		env := sets.New[string]()
		for i, e := range c.Env {
			if env.Has(e.Name) {
				ref := fmt.Sprintf("$(%s)", e.Name)
				if e.ValueFrom != nil || e.Value == ref || !strings.Contains(e.Value, ref) {
					w = append(w, fmt.Sprintf("%s: hides previous definition of %q, which may be dropped when using apply", p.Child("env").Index(i), e.Name))
				}
			}
			env.Insert(e.Name)
		}
	})
	w = append(w, portWarnings(spec, sp)...)
	if g := spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		w = append(w, fmt.Sprintf("%s: must be >= 0; negative values are invalid and will be treated as 1", sp.Child("terminationGracePeriodSeconds")))
	}
	if a := spec.Affinity; a != nil {
		null := func(sel *metav1.LabelSelector, p *field.Path) {
			if sel == nil {
				w = append(w, fmt.Sprintf("%s: a null labelSelector results in matching no pod", p))
			}
		}
		for _, name := range []string{"podAffinity", "podAntiAffinity"} {
			required, preferred := podAffinityRequired(a), podAffinityPreferred(a)
			if name == "podAntiAffinity" {
				required, preferred = podAntiAffinityRequired(a), podAntiAffinityPreferred(a)
			}
			for i, t := range required {
				null(t.LabelSelector, sp.Child("affinity", name, "requiredDuringSchedulingIgnoredDuringExecution").Index(i).Child("labelSelector"))
			}
			for i, t := range preferred {
				null(t.PodAffinityTerm.LabelSelector, sp.Child("affinity", name, "preferredDuringSchedulingIgnoredDuringExecution").Index(i).Child("podAffinityTerm", "labelSelector"))
			}
		}
	}
	if spec.DNSConfig != nil {
		for i, ns := range spec.DNSConfig.Nameservers {
			w = append(w, validation.GetWarningsForIP(sp.Child("dnsConfig", "nameservers").Index(i), ns)...)
		}
	}
	for i, h := range spec.HostAliases {
		w = append(w, validation.GetWarningsForIP(sp.Child("hostAliases").Index(i).Child("ip"), h.IP)...)
	}
	return w
}

func termWarnings(term corev1.NodeSelectorTerm, checkValues bool, p *field.Path) []string {
	var w []string
	for i, e := range term.MatchExpressions {
		if msg, ok := DeprecatedNodeLabel(e.Key); ok {
			w = append(w, fmt.Sprintf("%s: %s is %s", p.Child("matchExpressions").Index(i).Child("key"), e.Key, msg))
		}
		if checkValues {
			for j, v := range e.Values {
				for _, msg := range validation.IsValidLabelValue(v) {
					w = append(w, fmt.Sprintf("%s: %s is invalid, %s", p.Child("matchExpressions").Index(i).Child("values").Index(j), v, msg))
				}
			}
		}
	}
	return w
}

// portWarnings reports ports declared twice across containers, and port
// names reused (services and probes pick the first).
func portWarnings(spec *corev1.PodSpec, sp *field.Path) []string {
	var w []string
	type block struct {
		path *field.Path
		port corev1.ContainerPort
	}
	byPort := map[string][]block{}
	byName := map[string]*field.Path{}
	visitContainers(spec, sp, func(c *corev1.Container, p *field.Path) {
		for i, port := range c.Ports {
			pp := p.Child("ports").Index(i)
			if port.HostIP != "" && port.HostPort == 0 {
				w = append(w, fmt.Sprintf("%s: hostIP set without hostPort: %+v", pp, port))
			}
			k := fmt.Sprintf("%d/%s", port.ContainerPort, port.Protocol)
			for _, o := range byPort[k] {
				a, b := port.HostIP == "", o.port.HostIP == ""
				switch {
				case port.HostIP == o.port.HostIP && port.HostPort == o.port.HostPort:
					w = append(w, fmt.Sprintf("%s: duplicate port definition with %s", pp, o.path))
				case port.HostPort == 0 || o.port.HostPort == 0:
					w = append(w, fmt.Sprintf("%s: overlapping port definition with %s", pp, o.path))
				case port.HostPort == o.port.HostPort && (a || b) && !(a && b):
					w = append(w, fmt.Sprintf("%s: dangerously ambiguous port definition with %s", pp, o.path))
				}
			}
			byPort[k] = append(byPort[k], block{pp, port})
		}
	})
	visitContainers(spec, sp, func(c *corev1.Container, p *field.Path) {
		for i, port := range c.Ports {
			if port.Name == "" {
				continue
			}
			pp := p.Child("ports").Index(i)
			if other, ok := byName[port.Name]; ok {
				w = append(w, fmt.Sprintf("%s: duplicate port name %q with %s, services and probes that select ports by name will use %s", pp, port.Name, other, other))
			} else {
				byName[port.Name] = pp
			}
		}
	})
	return w
}

func podAffinityRequired(a *corev1.Affinity) []corev1.PodAffinityTerm {
	if a.PodAffinity == nil {
		return nil
	}
	return a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *corev1.Affinity) []corev1.PodAffinityTerm {
	if a.PodAntiAffinity == nil {
		return nil
	}
	return a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *corev1.Affinity) []corev1.WeightedPodAffinityTerm {
	if a.PodAffinity == nil {
		return nil
	}
	return a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *corev1.Affinity) []corev1.WeightedPodAffinityTerm {
	if a.PodAntiAffinity == nil {
		return nil
	}
	return a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
}
