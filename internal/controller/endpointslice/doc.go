// Package endpointslice is upstream's endpointslice controller: for every
// service with a selector it keeps discovery.k8s.io/v1 EndpointSlices of
// at most 100 endpoints each, one set per address type and port mapping,
// labelled kubernetes.io/service-name and endpointslice.kubernetes.io/
// managed-by, owned by the service. A change moves as few endpoints as it
// can: changed endpoints are updated where they are, new ones fill the
// slices with room before new slices are made, and a service without
// endpoints keeps one empty placeholder slice.
package endpointslice
