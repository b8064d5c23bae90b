package customresourcedefinition

import (
	"context"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nameDetail is upstream's complaint about a CRD named other than
// <plural>.<group>; the only metadata check the generic ObjectMeta
// validation cannot make.
const nameDetail = `must be spec.names.plural+"."+spec.group`

// ValidateCreate checks a new CRD with upstream's rules and messages: names,
// group, versions, scope, structural schemas, CEL rules and their cost,
// conversion, subresources, printer columns, selectable fields and
// status.storedVersions (which PrepareForCreate fills in first, as
// upstream's strategy does). Errors in a schema that all versions share are
// reported under spec.validation, as upstream reports them. Metadata is
// left to the generic ObjectMeta validation, except the name rule.
func ValidateCreate(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	in, err := toInternal(crd)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return withoutGenericMeta(validation.ValidateCustomResourceDefinition(context.Background(), in))
}

// ValidateUpdate checks an update of a CRD as upstream does: everything
// ValidateCreate checks (with the leniency upstream keeps for schemas and
// rules the old object already had), plus immutable scope and group, names
// that may not change once Established, and stored versions that must stay
// in spec.versions.
func ValidateUpdate(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	in, err := toInternal(crd)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	oldIn, err := toInternal(old)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return withoutGenericMeta(validation.ValidateCustomResourceDefinitionUpdate(context.Background(), in, oldIn))
}

// ValidateStatusUpdate checks an update of /status: accepted names,
// conditions and stored versions' shape.
func ValidateStatusUpdate(crd, old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	in, err := statusToInternal(crd)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	oldIn, err := statusToInternal(old)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	return withoutGenericMeta(validation.ValidateUpdateCustomResourceDefinitionStatus(context.Background(), in, oldIn))
}

// statusToInternal converts only what upstream's status validation reads,
// metadata and status: converting the spec copies every schema, twice
// for each status update (the naming and establishing of 100 CRDs
// installed at once).
func statusToInternal(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensions.CustomResourceDefinition, error) {
	out := &apiextensions.CustomResourceDefinition{ObjectMeta: crd.ObjectMeta}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinitionStatus_To_apiextensions_CustomResourceDefinitionStatus(&crd.Status, &out.Status, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// toInternal converts to the internal type upstream's validation takes
// (schemas identical across versions move to spec.validation, as in
// upstream's storage).
func toInternal(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensions.CustomResourceDefinition, error) {
	out := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// approvalPath is where upstream reports a CRD in a protected group
// (*.k8s.io, *.kubernetes.io) without its API approval annotation.
const approvalPath = "metadata.annotations[" + apiextensionsv1.KubeAPIApprovedAnnotation + "]"

// withoutGenericMeta drops the metadata errors the generic ObjectMeta
// validation reports itself, so that none is reported twice; it keeps the
// CRD-specific ones (the name rule, the API approval annotation).
func withoutGenericMeta(errs field.ErrorList) field.ErrorList {
	out := errs[:0]
	for _, e := range errs {
		p := e.Field
		generic := p == "metadata" || strings.HasPrefix(p, "metadata.")
		if generic && e.Detail != nameDetail && p != approvalPath {
			continue
		}
		out = append(out, e)
	}
	return out
}
