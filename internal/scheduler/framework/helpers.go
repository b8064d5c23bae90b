package framework

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// PodPriority is the pod's priority (0 when unset).
func PodPriority(pod *corev1.Pod) int32 { return corev1helpers.PodPriority(pod) }

// ReasonHistogram counts the reasons of rejected nodes, upstream's
// way: "1 Insufficient memory, 2 node(s) had untolerated taint
// {dedicated: gpu}", sorted. Nodes of numAll missing from statuses count
// under absent's reasons.
func ReasonHistogram(numAll int, statuses map[string]*Status, absent *Status) string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	if missing := numAll - len(statuses); missing > 0 && absent != nil {
		for _, r := range absent.Reasons() {
			counts[r] += missing
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
