package schema

import (
	"context"
	"fmt"
	"math"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/common"
)

// Validate checks obj against the version's schema, on create (old nil) or
// update (old is the stored object: transition rules and ratcheting see it;
// upstream's CRDValidationRatcheting is GA, so errors in fields an update
// leaves unchanged are not reported). See the package doc for what it
// covers.
func (v *Version) Validate(ctx context.Context, obj, old map[string]interface{}) field.ErrorList {
	if errs := v.validateTypeMeta(obj); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	// Upstream's validator, unless it would certainly find nothing (on
	// update, ratcheting only takes errors away).
	valid := v.valid.valid(obj)
	switch {
	case old == nil && !valid:
		errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, v.create)...)
	case old != nil && !valid:
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(nil, obj, old, v.validator, v.ratcheting(obj, old)...)...)
	}
	errs = append(errs, v.validateScaleSpec(obj)...)
	errs = append(errs, v.validateScaleStatus(obj)...)
	if v.structural == nil {
		return errs
	}
	if v.features.embedded {
		errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj, v.structural, false)...)
	}
	if !v.features.listSetsMaps {
		// Nothing to check.
	} else if old == nil {
		errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	} else if oldErrs := structurallisttype.ValidateListSetsAndMaps(nil, v.structural, old); len(oldErrs) == 0 {
		// Ratcheting: an old object that already broke set/map uniqueness
		// may be updated.
		errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	}
	return append(errs, v.validateCEL(ctx, obj, old, errs, nil)...)
}

// ratcheting is the option that makes upstream's validator leave errors
// in fields an update did not change (none without a schema).
func (v *Version) ratcheting(obj, old map[string]interface{}) []apiservervalidation.ValidationOption {
	if v.structural == nil {
		return nil
	}
	return []apiservervalidation.ValidationOption{apiservervalidation.WithRatcheting(v.correlated(obj, old))}
}

func (v *Version) correlated(obj, old map[string]interface{}) *common.CorrelatedObject {
	return common.NewCorrelatedObject(obj, old, &model.Structural{Structural: v.structural})
}

// ValidateStatus checks an update of the /status subresource: the status
// schema, the scale subresource's status paths, list types and the CEL
// rules (which see the whole object).
func (v *Version) ValidateStatus(ctx context.Context, obj, old map[string]interface{}) field.ErrorList {
	if errs := v.validateTypeMeta(obj); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	var opts []apiservervalidation.ValidationOption
	var celOpts []cel.Option
	if v.structural != nil {
		correlated := common.NewCorrelatedObject(obj, old, &model.Structural{Structural: v.structural})
		opts = append(opts, apiservervalidation.WithRatcheting(correlated.Key("status")))
		celOpts = append(celOpts, cel.WithRatcheting(correlated))
	}
	if status, ok := obj["status"]; ok && v.statusValidator != nil {
		errs = append(errs, apiservervalidation.ValidateCustomResourceUpdate(field.NewPath("status"), status, old["status"], v.statusValidator, opts...)...)
	}
	errs = append(errs, v.validateScaleStatus(obj)...)
	if v.structural == nil {
		return errs
	}
	if newErrs := structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj); len(newErrs) > 0 {
		if oldErrs := structurallisttype.ValidateListSetsAndMaps(nil, v.structural, old); len(oldErrs) == 0 {
			errs = append(errs, newErrs...)
		}
	}
	return append(errs, v.validateCEL(ctx, obj, old, errs, celOpts)...)
}

// validateCEL runs the x-kubernetes-validations rules within upstream's
// runtime cost budget, unless errs already hold an error that makes the
// rules' input unreliable (upstream's "blocking" errors).
func (v *Version) validateCEL(ctx context.Context, obj, old map[string]interface{}, errs field.ErrorList, opts []cel.Option) field.ErrorList {
	if v.cel == nil {
		return nil
	}
	if blocking(errs) {
		return field.ErrorList{field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")}
	}
	if old == nil {
		return v.celCreate.Validate(ctx, obj, celconfig.RuntimeCELCostBudget)
	}
	// Without transition rules, an update's rules give a create's
	// results, less the errors ratcheting leaves: none when a create's
	// give none.
	if !v.celCreate.oldSelf && len(v.celCreate.Validate(ctx, obj, celconfig.RuntimeCELCostBudget)) == 0 {
		return nil
	}
	if opts == nil && v.structural != nil {
		opts = []cel.Option{cel.WithRatcheting(v.correlated(obj, old))}
	}
	celErrs, _ := v.cel().Validate(ctx, nil, v.structural, obj, old, celconfig.RuntimeCELCostBudget, opts...)
	return celErrs
}

// blocking reports errors after which upstream does not run CEL rules:
// wrong types, missing required fields, unsupported enum values, too long
// or too many.
func blocking(errs field.ErrorList) bool {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// validateTypeMeta checks kind and apiVersion against the served version.
func (v *Version) validateTypeMeta(obj map[string]interface{}) field.ErrorList {
	u := unstructured.Unstructured{Object: obj}
	var errs field.ErrorList
	if kind := u.GetKind(); kind != v.gvk.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), kind, fmt.Sprintf("must be %v", v.gvk.Kind)))
	}
	if want := v.gvk.GroupVersion().String(); u.GetAPIVersion() != want {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), u.GetAPIVersion(), fmt.Sprintf("must be %v", want)))
	}
	return errs
}

func (v *Version) validateScaleSpec(obj map[string]interface{}) field.ErrorList {
	if v.scale == nil {
		return nil
	}
	return validateReplicas(obj, v.scale.SpecReplicasPath)
}

func (v *Version) validateScaleStatus(obj map[string]interface{}) field.ErrorList {
	if v.scale == nil {
		return nil
	}
	errs := validateReplicas(obj, v.scale.StatusReplicasPath)
	if p := v.scale.LabelSelectorPath; p != nil {
		sel, _, err := unstructured.NestedString(obj, splitPath(*p)...)
		if err != nil {
			errs = append(errs, field.Invalid(field.NewPath(*p), sel, err.Error()))
		}
	}
	return errs
}

// validateReplicas checks a replica count at a scale subresource path
// (".spec.replicas"); a missing count is fine.
func validateReplicas(obj map[string]interface{}, path string) field.ErrorList {
	n, _, err := unstructured.NestedInt64(obj, splitPath(path)...)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(field.NewPath(path), n, err.Error())}
	case n < 0:
		return field.ErrorList{field.Invalid(field.NewPath(path), n, "should be a non-negative integer")}
	case n > math.MaxInt32:
		return field.ErrorList{field.Invalid(field.NewPath(path), n, fmt.Sprintf("should be less than or equal to %v", math.MaxInt32))}
	}
	return nil
}

func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "."), ".")
}
