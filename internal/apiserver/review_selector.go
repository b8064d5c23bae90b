package apiserver

import (
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"
)

// reviewFieldSelector is the field selector an access review asks about
// (its raw selector, or its requirements, which win), as upstream's
// authorizers see it: an In or NotIn of one value is = or !=; what cannot
// be expressed (or parsed) is left out, and the authorizers that scope by
// a field (the Node authorizer) then find no scope.
func reviewFieldSelector(fs *authorizationv1.FieldSelectorAttributes) fields.Requirements {
	if fs == nil {
		return nil
	}
	var reqs fields.Requirements
	if fs.RawSelector != "" {
		if sel, err := fields.ParseSelector(fs.RawSelector); err == nil {
			reqs = sel.Requirements()
		}
	}
	if len(fs.Requirements) == 0 {
		return reqs
	}
	reqs = nil
	for _, r := range fs.Requirements {
		if len(r.Values) != 1 {
			continue
		}
		switch r.Operator {
		case metav1.FieldSelectorOpIn:
			reqs = append(reqs, fields.Requirement{Field: r.Key, Operator: selection.Equals, Value: r.Values[0]})
		case metav1.FieldSelectorOpNotIn:
			reqs = append(reqs, fields.Requirement{Field: r.Key, Operator: selection.NotEquals, Value: r.Values[0]})
		}
	}
	return reqs
}
