// Package schema applies one version of a CustomResourceDefinition's schema
// to custom objects, as upstream's apiextensions server does: structural
// defaulting, pruning of unknown fields, OpenAPI validation and the
// x-kubernetes-validations CEL rules with upstream's cost limits. It uses
// upstream's schema libraries (k8s.io/apiextensions-apiserver/pkg/apiserver/
// schema/...), so errors read as upstream's; it never touches storage or HTTP.
//
// A *Version is compiled once per CRD generation and served version, and is
// safe for concurrent use. Objects are JSON data (map[string]interface{}, the
// content of an *unstructured.Unstructured) decoded as apimachinery decodes
// JSON: integers are int64, other numbers float64.
//
//	v, err := schema.Compile(crd, "v1")           // when the CRD changes
//
//	// a request body (create, update, patch result):
//	unknown, err := v.Prune(obj)                   // err: malformed metadata (400)
//	v.Default(obj)
//	errs := v.Validate(ctx, obj, old)              // old nil on create
//	errs := v.ValidateStatus(ctx, obj, old)        // update of /status
//	warnings := v.Warnings(obj, old)               // finalizer names, as upstream warns
//
//	// an object read from storage (pruned and defaulted on every read, so
//	// that schema changes apply to stored objects, as upstream does):
//	err := v.PruneStored(obj); v.Default(obj)
//
// Prune returns the paths of dropped fields ("spec.foo", "metadata.bar") for
// field validation: Strict refuses them, Warn warns `unknown field "spec.foo"`.
// Validate checks kind and apiVersion (the CRD's accepted kind), the schema,
// embedded resources (x-kubernetes-embedded-resource: apiVersion, kind,
// metadata), list-type set and map uniqueness, the scale subresource's
// replica and selector paths, and the CEL rules (transition rules see old;
// on update, errors in unchanged fields ratchet, as upstream's GA
// CRDValidationRatcheting). It does not check the root's metadata: the
// generic ObjectMeta validation does. Like upstream, it skips the CEL rules
// when the schema found a type, required, enum or size error, and says so.
//
// OpenAPIV2, OpenAPIV3, MergeV2 and MergeV3 give a CRD's part of
// /openapi/v2 and /openapi/v3/apis/<group>/<version>, through upstream's
// OpenAPI builder; TypeConverter gives server-side apply the CRD's list and
// map types.
package schema
