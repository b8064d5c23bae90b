package controller

import (
	"cmp"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/cache"
)

// PodControllerIndex indexes pods by their controller ("namespace/kind/
// name/uid", or "namespace" for orphans), so that a controller finds its
// pods, and the orphans it may adopt, without scanning the namespace.
const PodControllerIndex = "kemudi.io/pod-controller"

func podControllerKey(namespace string, ref *metav1.OwnerReference) string {
	if ref == nil {
		return namespace
	}
	return namespace + "/" + ref.Kind + "/" + ref.Name + "/" + string(ref.UID)
}

// AddPodControllerIndex adds PodControllerIndex to a pod informer (once,
// whichever controller asks first). Call it before informers start.
func AddPodControllerIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[PodControllerIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{PodControllerIndex: func(obj interface{}) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return []string{podControllerKey(pod.Namespace, metav1.GetControllerOfNoCopy(pod))}, nil
	}})
	if err != nil {
		if _, ok := inf.GetIndexer().GetIndexers()[PodControllerIndex]; ok {
			return nil // another controller added it meanwhile
		}
		return fmt.Errorf("add pod controller index: %w", err)
	}
	return nil
}

// PodsControlledBy returns the pods whose controller is owner (of kind),
// and with orphans the pods of its namespace that have no controller.
// The pods are the cache's: do not modify them.
func PodsControlledBy(indexer cache.Indexer, owner metav1.Object, kind string, orphans bool) ([]*corev1.Pod, error) {
	keys := []string{podControllerKey(owner.GetNamespace(), &metav1.OwnerReference{Kind: kind, Name: owner.GetName(), UID: owner.GetUID()})}
	if orphans {
		keys = append(keys, owner.GetNamespace())
	}
	var out []*corev1.Pod
	for _, k := range keys {
		objs, err := indexer.ByIndex(PodControllerIndex, k)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// PodKey is "namespace/name".
func PodKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// PodReadyCondition returns the pod's Ready condition, or nil.
func PodReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	c := PodReadyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodAvailable reports whether the pod has been ready for at least
// minReadySeconds at now.
func IsPodAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := PodReadyCondition(pod)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).After(now)
}

// AvailableIn returns how long until a ready pod becomes available, or
// false when it is not ready or is available already.
func AvailableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) (time.Duration, bool) {
	c := PodReadyCondition(pod)
	if minReadySeconds == 0 || c == nil || c.Status != corev1.ConditionTrue || c.LastTransitionTime.IsZero() {
		return 0, false
	}
	d := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	return d, d > 0
}

// SoonestAvailable returns how long until the first of the pods that
// are ready but not yet available (minReadySeconds) becomes available;
// false when no pod waits.
func SoonestAvailable(pods []*corev1.Pod, minReadySeconds int32, now time.Time) (time.Duration, bool) {
	var next time.Duration
	found := false
	for _, p := range pods {
		if d, ok := AvailableIn(p, minReadySeconds, now); ok && (!found || d < next) {
			next, found = d, true
		}
	}
	return next, found
}

// IsPodTerminal reports whether the pod has finished (Succeeded or Failed).
func IsPodTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// IsPodActive reports whether the pod counts as a replica: neither
// finished nor being deleted.
func IsPodActive(pod *corev1.Pod) bool {
	return !IsPodTerminal(pod) && pod.DeletionTimestamp == nil
}

// IsPodTerminating reports whether the pod is being deleted and has not
// finished yet.
func IsPodTerminating(pod *corev1.Pod) bool {
	return !IsPodTerminal(pod) && pod.DeletionTimestamp != nil
}

// PodFromTemplate is the pod a controller creates from its template:
// the template's labels, annotations, finalizers and spec, a generated
// name prefixed with the owner's name, and the owner as controller.
func PodFromTemplate(template *corev1.PodTemplateSpec, ownerName string, ref *metav1.OwnerReference) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: PodNamePrefix(ownerName),
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			Finalizers:   append([]string(nil), template.Finalizers...),
		},
		Spec: *template.Spec.DeepCopy(),
	}
	if ref != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return pod
}

// PodNamePrefix is "owner-" when that is a valid name prefix, else the
// owner's name (upstream's rule).
func PodNamePrefix(owner string) string {
	prefix := owner + "-"
	// As upstream: the prefix, its dash masked, must be a DNS subdomain.
	if len(validation.IsDNS1123Subdomain(owner+"a")) != 0 {
		return owner
	}
	return prefix
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ActivePodsLess orders pods for deletion, the first to go first, as
// upstream's ActivePods: unassigned before assigned; Pending, then
// Unknown, then Running; not ready before ready; ready for less time
// before more; more container restarts before fewer; newer before older.
func ActivePodsLess(a, b *corev1.Pod) bool {
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := PodPhaseOrdinal(a.Status.Phase), PodPhaseOrdinal(b.Status.Phase); pa != pb {
		return pa < pb
	}
	ra, rb := IsPodReady(a), IsPodReady(b)
	if ra != rb {
		return !ra
	}
	if ra && rb {
		ta, tb := PodReadyCondition(a).LastTransitionTime, PodReadyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			return AfterOrZero(ta.Time, tb.Time)
		}
	}
	if r := ComparePodRestarts(a, b); r != 0 {
		return r > 0
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return AfterOrZero(a.CreationTimestamp.Time, b.CreationTimestamp.Time)
	}
	return false
}

// PodPhaseOrdinal ranks a phase for deletion, the lowest to go first:
// Pending, then Unknown, then Running.
func PodPhaseOrdinal(p corev1.PodPhase) int {
	switch p {
	case corev1.PodPending:
		return 0
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0
}

// AfterOrZero orders times for deletion: a zero time sorts first, then
// the later time.
func AfterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// ComparePodRestarts is positive when a restarted more than b (the most
// restarts of a regular container, then of a sidecar), negative when
// less.
func ComparePodRestarts(a, b *corev1.Pod) int {
	ra, sa := maxRestarts(a)
	rb, sb := maxRestarts(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	return cmp.Compare(sa, sb)
}

// maxRestarts returns the most restarts of a regular container and of a
// sidecar (an init container that restarts always).
func maxRestarts(p *corev1.Pod) (regular, sidecar int32) {
	for _, c := range p.Status.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	sidecars := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, c := range p.Status.InitContainerStatuses {
		if sidecars[c.Name] {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return regular, sidecar
}
