// Package endpoints is upstream's endpoints controller: for every service
// with a selector it keeps a core/v1 Endpoints object of the same name
// listing the ready and not-ready addresses of the service's pods, with
// their node names, target references and ports by name. Services without
// a selector (the kubernetes service among them) are left to whoever
// writes their endpoints.
//
// The pure helpers that decide whether and how a pod is an endpoint of a
// service (PodInService, FindPort, ...) are shared with the endpointslice
// controller.
package endpoints
