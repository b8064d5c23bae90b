// Package openapi serves the OpenAPI documents of the API server:
// /openapi/v2 (swagger 2.0, in JSON and in the protobuf form kubectl asks
// for) and /openapi/v3 (the discovery document, then one OpenAPI 3.0
// document per group version, cacheable for good at its hashed URL).
//
// kubectl reads them for client-side validation and to decide whether to
// send fieldValidation (create, apply), for explain, for strategic merge
// patch metadata (edit, patch, apply) and for server-side apply's types.
//
// The schemas come from the k8s.io/api and k8s.io/apimachinery Go types
// through kube-openapi's openapi-gen (package generated, see generate.go);
// the paths describe the served registry resources as upstream's API
// installer does, and kube-openapi's builders (pkg/builder, pkg/builder3)
// assemble both, so that the documents are kube-apiserver's for the same
// resources. The tests compare them with upstream's published documents.
//
// Memory: a document is built on first request (or by Docs.Build), then
// only its gzip-compressed bytes are kept; the spec trees are dropped and
// their memory returned to the OS.
//
// Mounting:
//
//	docs := openapi.New(all.Resources())
//	go docs.Build() // optional: build now rather than on first request
//	mux.Handle("/openapi/", docs.Handler())
package openapi
