package apiserver

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// crdDocumenter is an OpenAPI handler (Config.OpenAPI) that describes
// the custom resources too: openapi.Docs is one. Such a handler is told
// the CRDs whenever the served ones change.
type crdDocumenter interface {
	// SetCRDs tells it the current CRDs; it must return at once.
	SetCRDs([]*apiextensionsv1.CustomResourceDefinition)
}

// publishOpenAPI tells the OpenAPI handler, if it describes CRDs, the
// CRDs of the snapshot just swapped in.
func (s *Server) publishOpenAPI(crds []*apiextensionsv1.CustomResourceDefinition) {
	if d, ok := s.openapi.(crdDocumenter); ok {
		d.SetCRDs(crds)
	}
}
