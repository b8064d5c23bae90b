package schema

import structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"

// Default sets the schema's defaults in obj, as upstream does on every
// decode of a request and every read from storage. Defaults apply to
// fields that are missing, and to nulls of non-nullable fields.
func (v *Version) Default(obj map[string]interface{}) {
	if v.structural == nil || obj == nil || !v.features.defaults {
		return
	}
	structuraldefaulting.Default(obj, v.structural)
}
