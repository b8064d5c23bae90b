package customresourcedefinition

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Default fills in what upstream's v1 defaulting does: the None
// conversion strategy, the singular name and list kind, webhook ports.
func Default(crd *apiextensionsv1.CustomResourceDefinition) {
	spec := &crd.Spec
	if spec.Conversion == nil {
		spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	}
	if w := spec.Conversion.Webhook; w != nil && w.ClientConfig != nil && w.ClientConfig.Service != nil && w.ClientConfig.Service.Port == nil {
		port := int32(443)
		w.ClientConfig.Service.Port = &port
	}
	if spec.Names.Singular == "" {
		spec.Names.Singular = strings.ToLower(spec.Names.Kind)
	}
	if spec.Names.ListKind == "" && spec.Names.Kind != "" {
		spec.Names.ListKind = spec.Names.Kind + "List"
	}
	// status.acceptedNames is the server's; its defaults follow the same
	// rules (upstream defaults both).
	an := &crd.Status.AcceptedNames
	if an.Singular == "" {
		an.Singular = strings.ToLower(an.Kind)
	}
	if an.ListKind == "" && an.Kind != "" {
		an.ListKind = an.Kind + "List"
	}
}
