// Package schema applies one version of a CustomResourceDefinition's schema
// to custom objects, as upstream's apiextensions server does: structural
// defaulting, pruning of unknown fields, OpenAPI validation and the
// x-kubernetes-validations CEL rules with upstream's cost limits. It uses
// upstream's schema libraries (k8s.io/apiextensions-apiserver/pkg/apiserver/
// schema/...), so errors read as upstream's; it never touches storage or HTTP.
//
// A *Version is compiled once per CRD generation and served version, and is
// safe for concurrent use. Objects are JSON data (map[string]interface{}, the
// content of an *unstructured.Unstructured). A request's body goes through:
//
//	v, err := schema.Compile(crd, "v1")          // when the CRD changes
//	unknown, err := v.Prune(obj)                  // after decoding; err: malformed metadata (400)
//	v.Default(obj)                                // after Prune, and on every read from storage
//	errs := v.Validate(ctx, obj, nil)             // create (old == nil) or update
//	errs := v.ValidateStatus(ctx, obj, old)       // update of /status
//
// Prune returns the paths of dropped fields ("spec.foo", "metadata.bar") for
// field validation: Strict refuses them, Warn warns `unknown field "spec.foo"`.
// Validate checks kind and apiVersion, the schema, embedded resources
// (x-kubernetes-embedded-resource: apiVersion, kind, metadata), list-type set
// and map uniqueness, the scale subresource's replica paths, and the CEL
// rules (transition rules see old). It does not check the root's metadata:
// the generic ObjectMeta validation does (name, labels, ...).
package schema
