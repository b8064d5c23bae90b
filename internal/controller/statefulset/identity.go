package statefulset

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/controller"
)

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

var podNameRE = regexp.MustCompile("(.*)-([0-9]+)$")

// parentAndOrdinal splits "web-3" into "web" and 3 (-1 when the name
// has no ordinal).
func parentAndOrdinal(p *corev1.Pod) (string, int) {
	m := podNameRE.FindStringSubmatch(p.Name)
	if len(m) < 3 {
		return "", -1
	}
	i, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return m[1], -1
	}
	return m[1], int(i)
}

func ordinal(p *corev1.Pod) int { _, o := parentAndOrdinal(p); return o }

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func endOrdinal(set *appsv1.StatefulSet) int { return startOrdinal(set) + int(*set.Spec.Replicas) - 1 }

func inOrdinalRange(p *corev1.Pod, set *appsv1.StatefulSet) bool {
	o := ordinal(p)
	return o >= startOrdinal(set) && o <= endOrdinal(set)
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

// claimName is <template>-<set>-<ordinal>.
func claimName(set *appsv1.StatefulSet, claim *corev1.PersistentVolumeClaim, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", claim.Name, set.Name, ordinal)
}

func isMemberOf(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, _ := parentAndOrdinal(p)
	return parent == set.Name
}

// identityMatches: the pod has the name, namespace and pod-name label of
// its ordinal.
func identityMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, o := parentAndOrdinal(p)
	return o >= 0 && set.Name == parent && p.Name == podName(set, o) && p.Namespace == set.Namespace &&
		p.Labels[appsv1.StatefulSetPodNameLabel] == p.Name
}

// storageMatches: the pod mounts the claims of its ordinal.
func storageMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	o := ordinal(p)
	if o < 0 {
		return false
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range p.Spec.Volumes {
		volumes[v.Name] = v
	}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		v, ok := volumes[t.Name]
		if !ok || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claimName(set, t, o) {
			return false
		}
	}
	return true
}

// claimsFor are the claims of a pod's ordinal, by template name: the
// template with the set's selector labels added.
func claimsFor(set *appsv1.StatefulSet, p *corev1.Pod) map[string]corev1.PersistentVolumeClaim {
	o := ordinal(p)
	out := map[string]corev1.PersistentVolumeClaim{}
	for i := range set.Spec.VolumeClaimTemplates {
		c := set.Spec.VolumeClaimTemplates[i].DeepCopy()
		c.Name = claimName(set, c, o)
		c.Namespace = set.Namespace
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		out[set.Spec.VolumeClaimTemplates[i].Name] = *c
	}
	return out
}

// updateStorage mounts the ordinal's claims in place of same-named
// volumes.
func updateStorage(set *appsv1.StatefulSet, p *corev1.Pod) {
	claims := claimsFor(set, p)
	names := make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	sort.Strings(names)
	volumes := make([]corev1.Volume, 0, len(claims)+len(p.Spec.Volumes))
	for _, name := range names {
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claims[name].Name},
		}})
	}
	for _, v := range p.Spec.Volumes {
		if _, ok := claims[v.Name]; !ok {
			volumes = append(volumes, v)
		}
	}
	p.Spec.Volumes = volumes
}

// updateIdentity sets the name, namespace and identity labels of the
// pod's ordinal.
func updateIdentity(set *appsv1.StatefulSet, p *corev1.Pod) {
	o := ordinal(p)
	p.Name = podName(set, o)
	p.Namespace = set.Namespace
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[appsv1.StatefulSetPodNameLabel] = p.Name
	p.Labels[appsv1.PodIndexLabel] = strconv.Itoa(o)
}

// newPod is the pod of an ordinal: hostname its name, subdomain the
// governing service, the ordinal's claims mounted.
func newPod(set *appsv1.StatefulSet, o int) *corev1.Pod {
	p := controller.PodFromTemplate(&set.Spec.Template, set.Name, controller.ControllerRef(set, controllerKind))
	p.GenerateName = ""
	p.Name = podName(set, o)
	updateIdentity(set, p)
	p.Spec.Hostname = p.Name
	p.Spec.Subdomain = set.Spec.ServiceName
	updateStorage(set, p)
	return p
}

// newVersionedPod is the pod of an ordinal at the revision it should
// have: the current one below the partition, the update one above.
func newVersionedPod(currentSet, updateSet *appsv1.StatefulSet, currentRev, updateRev string, o int) *corev1.Pod {
	s := currentSet.Spec.UpdateStrategy
	if (s.Type == appsv1.RollingUpdateStatefulSetStrategyType && s.RollingUpdate == nil && o < startOrdinal(currentSet)+int(currentSet.Status.CurrentReplicas)) ||
		(s.RollingUpdate != nil && s.RollingUpdate.Partition != nil && o < startOrdinal(currentSet)+int(*s.RollingUpdate.Partition)) {
		p := newPod(currentSet, o)
		setRevision(p, currentRev)
		return p
	}
	p := newPod(updateSet, o)
	setRevision(p, updateRev)
	return p
}

func setRevision(p *corev1.Pod, rev string) {
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[appsv1.StatefulSetRevisionLabel] = rev
}

func revisionOf(p *corev1.Pod) string { return p.Labels[appsv1.StatefulSetRevisionLabel] }

func isRunningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && controller.IsPodReady(p)
}

func isAvailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	return controller.IsPodAvailable(p, minReady, now)
}

// isCreated: the pod exists (a pod made up for a missing ordinal has no
// phase).
func isCreated(p *corev1.Pod) bool     { return p.Status.Phase != "" }
func isPending(p *corev1.Pod) bool     { return p.Status.Phase == corev1.PodPending }
func isTerminal(p *corev1.Pod) bool    { return controller.IsPodTerminal(p) }
func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }
func isUnavailable(p *corev1.Pod, minReady int32, now time.Time) bool {
	return !isAvailable(p, minReady, now) || isTerminating(p)
}

func allowsBurst(set *appsv1.StatefulSet) bool {
	return set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement
}

// maxUnavailable scales rollingUpdate.maxUnavailable (default 1, at
// least 1) to the replicas, rounding down.
func maxUnavailable(set *appsv1.StatefulSet) (int, error) {
	var mu *intstr.IntOrString
	if r := set.Spec.UpdateStrategy.RollingUpdate; r != nil {
		mu = r.MaxUnavailable
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(mu, intstr.FromInt32(1)), int(*set.Spec.Replicas), false)
	if err != nil {
		return 0, err
	}
	return max(n, 1), nil
}

// Claim retention: which owner references a claim should carry.

func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		return *p
	}
	return appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
}

func matchesRef(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return gvk.GroupVersion().String() == ref.APIVersion && gvk.Kind == ref.Kind && ref.Name == obj.GetName()
}

func hasOwnerRef(target, owner metav1.Object) bool {
	for _, r := range target.GetOwnerReferences() {
		if r.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

func hasStaleOwnerRef(target metav1.Object, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for _, r := range target.GetOwnerReferences() {
		if matchesRef(&r, obj, gvk) {
			return r.UID != obj.GetUID()
		}
	}
	return false
}

// hasUnexpectedController: another controller owns the claim (the
// retention policy then leaves it alone).
func hasUnexpectedController(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) bool {
	pol := retentionPolicy(set)
	retain := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if pol.WhenScaled == retain && pol.WhenDeleted == retain {
		return false
	}
	for _, r := range claim.OwnerReferences {
		switch {
		case matchesRef(&r, set, controllerKind):
			if r.UID != set.UID {
				return true
			}
		case matchesRef(&r, p, podKind):
			if r.UID != p.UID {
				return true
			}
		case r.Controller != nil && *r.Controller:
			return true
		}
	}
	return false
}

func hasNonControllerOwner(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) bool {
	for _, r := range claim.OwnerReferences {
		if (r.UID == set.UID || r.UID == p.UID) && (r.Controller == nil || !*r.Controller) {
			return true
		}
	}
	return false
}

// claimOwnerUpToDate says whether the claim's owner references follow
// the retention policy: owned by the set when it goes with the set, by
// the pod when it goes with a scale-down.
func claimOwnerUpToDate(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) bool {
	if hasStaleOwnerRef(claim, set, controllerKind) || hasStaleOwnerRef(claim, p, podKind) {
		return true
	}
	if hasUnexpectedController(claim, set, p) {
		return !hasOwnerRef(claim, set) && !hasOwnerRef(claim, p)
	}
	if hasNonControllerOwner(claim, set, p) {
		return false
	}
	pol := retentionPolicy(set)
	del := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	scaledDown := !inOrdinalRange(p, set)
	switch {
	case pol.WhenScaled != del && pol.WhenDeleted != del:
		return !hasOwnerRef(claim, set) && !hasOwnerRef(claim, p)
	case pol.WhenScaled != del && pol.WhenDeleted == del:
		return hasOwnerRef(claim, set) && !hasOwnerRef(claim, p)
	case pol.WhenScaled == del && pol.WhenDeleted != del:
		return !hasOwnerRef(claim, set) && scaledDown == hasOwnerRef(claim, p)
	default:
		return scaledDown != hasOwnerRef(claim, set) && scaledDown == hasOwnerRef(claim, p)
	}
}

// setClaimOwners rewrites the claim's references to the set and pod to
// follow the retention policy.
func setClaimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, p *corev1.Pod) {
	unexpected := hasUnexpectedController(claim, set, p)
	var refs []metav1.OwnerReference
	for _, r := range claim.OwnerReferences {
		if !matchesRef(&r, set, controllerKind) && !matchesRef(&r, p, podKind) {
			refs = append(refs, r)
		}
	}
	if !unexpected {
		pol := retentionPolicy(set)
		del := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		scaledDown := !inOrdinalRange(p, set)
		add := func(owner metav1.Object, gvk schema.GroupVersionKind) {
			for _, r := range refs {
				if r.UID == owner.GetUID() {
					return
				}
			}
			refs = append(refs, *controller.ControllerRef(owner, gvk))
		}
		switch {
		case pol.WhenScaled != del && pol.WhenDeleted == del:
			add(set, controllerKind)
		case pol.WhenScaled == del && pol.WhenDeleted != del:
			if scaledDown {
				add(p, podKind)
			}
		case pol.WhenScaled == del && pol.WhenDeleted == del:
			if scaledDown {
				add(p, podKind)
			} else {
				add(set, controllerKind)
			}
		}
	}
	claim.OwnerReferences = refs
}
