package poddisruptionbudget

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// v1beta1Label is the label key upstream uses to express policy/v1beta1's
// "empty selector selects nothing" in policy/v1 terms. Only a selector
// that is exactly that expression may carry it.
const v1beta1Label = "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match"

// stripV1beta1Label removes the v1beta1 label key from a new or changed
// selector, so that it is never mixed with a user's own requirements.
func stripV1beta1Label(pdb, old *policyv1.PodDisruptionBudget) {
	sel := pdb.Spec.Selector
	if sel == nil || old != nil && equality.Semantic.DeepEqual(old.Spec.Selector, sel) {
		return
	}
	matchNone := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}}}
	if equality.Semantic.DeepEqual(*sel, matchNone) {
		return
	}
	kept := sel.MatchExpressions[:0]
	for _, r := range sel.MatchExpressions {
		if r.Key != v1beta1Label {
			kept = append(kept, r)
		}
	}
	sel.MatchExpressions = kept
}
