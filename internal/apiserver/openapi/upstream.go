package openapi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/schemamutation"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Upstream's storages decide a few things per resource that a
// registry.Resource does not say (yet): which verbs it serves and what a
// delete returns. These tables hold upstream's answers for the resources
// of its GA group versions, read from kube-apiserver's published
// documents; the tests check them against those documents.

// createOnly resources are virtual: they are only ever POSTed.
var createOnly = map[schema.GroupResource]bool{
	{Resource: "bindings"}: true,
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             true,
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       true,
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   true,
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      true,
}

// getOnly resources are only read: componentstatuses.
var getOnly = map[schema.GroupResource]bool{
	{Resource: "componentstatuses"}: true,
}

// noDeleteCollection resources do not delete collections: namespaces.
var noDeleteCollection = map[schema.GroupResource]bool{
	{Resource: "namespaces"}: true,
}

// deleteReturnsObject resources answer a delete with the deleted object
// rather than a Status.
var deleteReturnsObject = map[schema.GroupResource]bool{
	{Resource: "persistentvolumeclaims"}:                           true,
	{Resource: "persistentvolumes"}:                                true,
	{Resource: "pods"}:                                             true,
	{Resource: "podtemplates"}:                                     true,
	{Resource: "resourcequotas"}:                                   true,
	{Resource: "serviceaccounts"}:                                  true,
	{Resource: "services"}:                                         true,
	{Group: "resource.k8s.io", Resource: "deviceclasses"}:          true,
	{Group: "resource.k8s.io", Resource: "resourceclaims"}:         true,
	{Group: "resource.k8s.io", Resource: "resourceclaimtemplates"}: true,
	{Group: "resource.k8s.io", Resource: "resourceslices"}:         true,
	{Group: "storage.k8s.io", Resource: "csidrivers"}:              true,
	{Group: "storage.k8s.io", Resource: "csinodes"}:                true,
	{Group: "storage.k8s.io", Resource: "storageclasses"}:          true,
	{Group: "storage.k8s.io", Resource: "volumeattachments"}:       true,
	{Group: "storage.k8s.io", Resource: "volumeattributesclasses"}: true,
}

// resourceVerbs returns upstream's installer verbs for a resource.
func resourceVerbs(gr schema.GroupResource) []string {
	switch {
	case createOnly[gr]:
		return []string{"POST"}
	case getOnly[gr]:
		return []string{"LIST", "GET"}
	}
	verbs := make([]string, 0, len(standardVerbs))
	for _, v := range standardVerbs {
		if v == "DELETECOLLECTION" && noDeleteCollection[gr] {
			continue
		}
		verbs = append(verbs, v)
	}
	return verbs
}

// pruneDefaults removes the default values from v2 definitions, as
// kube-apiserver does before serving /openapi/v2 (defaults are a v3
// matter: v2 clients would apply them).
func pruneDefaults(sw *spec.Swagger) (*spec.Swagger, error) {
	walker := schemamutation.Walker{
		SchemaCallback: func(s *spec.Schema) *spec.Schema {
			if s.Default == nil {
				return s
			}
			c := *s
			c.Default = nil
			return &c
		},
		RefCallback: schemamutation.RefCallbackNoop,
	}
	for name, def := range sw.Definitions {
		sw.Definitions[name] = *walker.WalkSchema(&def)
	}
	return sw, nil
}
