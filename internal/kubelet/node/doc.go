// Package node is the kubelet's side of its Node object: registration
// (capacity and allocatable from the machine, addresses, nodeInfo, labels,
// taints), the status it reports (conditions from the runtime and the
// machine, images), the Lease it renews as a heartbeat, and the pod CIDR
// it hands to the runtime.
package node
