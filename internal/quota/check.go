package quota

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// containerRequired are the resources every container must state when a
// quota limits them (upstream's backward-compatible pod constraint).
var containerRequired = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
}

// Constraints checks that a pod's containers state the compute resources
// the quota limits ("must specify requests.cpu for: app; ...").
func Constraints(gr schema.GroupResource, obj interface{}, required []corev1.ResourceName) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok || gr != podsGR {
		return nil
	}
	want := map[corev1.ResourceName]bool{}
	for _, r := range required {
		for _, c := range containerRequired {
			if r == c {
				want[r] = true
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	missing := map[corev1.ResourceName][]string{}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			has := podComputeUsage(c.Resources.Requests, c.Resources.Limits)
			for r := range want {
				if _, ok := has[r]; !ok {
					missing[r] = append(missing[r], c.Name)
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	keys := make([]string, 0, len(missing))
	for r := range missing {
		keys = append(keys, string(r))
	}
	sort.Strings(keys)
	msgs := make([]string, len(keys))
	for i, k := range keys {
		containers := missing[corev1.ResourceName(k)]
		sort.Strings(containers)
		msgs[i] = fmt.Sprintf("%s for: %s", k, strings.Join(dedupe(containers), ","))
	}
	return fmt.Errorf("must specify %s", strings.Join(msgs, "; "))
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || s[i-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// Admit decides whether a new object with the given usage fits in a quota,
// as upstream's quota admission does against the quota's status: it
// returns the quota's new status.used (nil when the quota does not
// concern the object) or the reason it does not fit, the message of
// upstream's 403.
func Admit(q *corev1.ResourceQuota, gr schema.GroupResource, obj interface{}, usage corev1.ResourceList) (corev1.ResourceList, error) {
	if !MatchesScopes(q, gr, obj) {
		return nil, nil
	}
	restricted := Matching(gr, Names(q.Status.Hard))
	if len(restricted) == 0 {
		return nil, nil
	}
	if err := Constraints(gr, obj, restricted); err != nil {
		return nil, fmt.Errorf("failed quota: %s: %v", q.Name, err)
	}
	var unknown []corev1.ResourceName
	for _, r := range restricted {
		if _, ok := q.Status.Used[r]; !ok {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("status unknown for quota: %s, resources: %s", q.Name, prettyNames(restricted))
	}
	requested := Mask(removeZeros(usage), Names(q.Status.Hard))
	if len(requested) == 0 {
		return nil, nil
	}
	newUsed := Add(q.Status.Used, requested)
	var exceeded []corev1.ResourceName
	for name := range requested {
		if hard, ok := q.Status.Hard[name]; ok {
			if u := newUsed[name]; u.Cmp(hard) > 0 {
				exceeded = append(exceeded, name)
			}
		}
	}
	if len(exceeded) > 0 {
		return nil, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
			pretty(Mask(requested, exceeded)), pretty(Mask(q.Status.Used, exceeded)), pretty(Mask(q.Status.Hard, exceeded)))
	}
	return newUsed, nil
}

func removeZeros(l corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range l {
		if !v.IsZero() {
			out[k] = v
		}
	}
	return out
}

// pretty prints a resource list as upstream's messages do: name=value,
// sorted, comma-separated.
func pretty(l corev1.ResourceList) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		q := l[corev1.ResourceName(k)]
		parts[i] = k + "=" + q.String()
	}
	return strings.Join(parts, ",")
}

func prettyNames(ns []corev1.ResourceName) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = string(n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// Used sums the usage of objects of gr over a quota's hard resources:
// every hard resource the kind uses gets an entry, zero when nothing uses
// it. Objects the quota's scopes do not cover are left out.
func Used(q *corev1.ResourceQuota, gr schema.GroupResource, usages []ObjectUsage) corev1.ResourceList {
	hard := Matching(gr, Names(q.Spec.Hard))
	out := corev1.ResourceList{}
	for _, n := range hard {
		out[n] = resource.Quantity{Format: resource.DecimalSI}
	}
	if len(hard) == 0 {
		return out
	}
	for _, u := range usages {
		if !MatchesScopes(q, gr, u.Object) {
			continue
		}
		addAll(out, Mask(u.Usage, hard))
	}
	return out
}

// ObjectUsage is one object and its usage.
type ObjectUsage struct {
	Object interface{}
	Usage  corev1.ResourceList
}
