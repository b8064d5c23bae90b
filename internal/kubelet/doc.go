// Package kubelet is kemudi's node agent: an API client that makes the
// containers of the pods bound to its node run, through the CRI only.
//
// It watches its own Node, the pods whose spec.nodeName is the node, the
// services (for their environment variables) and fetches the configMaps
// and secrets its pods name. One worker per pod drives the runtime toward
// the pod's spec: the decision of what to do next is the pure function
// computeActions (actions.go), the worker only executes it (sync.go);
// the pod's status is the pure function computeStatus (status.go),
// written through the status subresource only when it changed.
//
// Sub-packages: node (registration, status, lease), volume (the pod's
// volumes on the host), probe (startup, liveness, readiness).
package kubelet
