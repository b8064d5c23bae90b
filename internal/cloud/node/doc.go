// Package node holds the cloud controller manager's node controllers.
//
// The cloud node controller (upstream's cloud-node-controller)
// initializes a node that registered with the
// node.cloudprovider.kubernetes.io/uninitialized taint: it sets
// spec.providerID, the instance type, zone and region labels and the
// addresses the provider gives, then removes the taint (event Synced).
// A node registered without the taint and without a providerID (a
// kubelet that was not told a cloud provider runs, as kemudi's own) is
// adopted the same way, but its own labels win. Afterwards it keeps the
// addresses in step with the provider's. A node that registers for an
// instance the provider says does not exist (a removed machine's kubelet
// starting again) is deleted instead, as the lifecycle controller would
// once it was not Ready: a Ready node is never asked about otherwise.
//
// The cloud node lifecycle controller (upstream's
// cloud-node-lifecycle-controller) looks at every node that is not
// Ready: one whose instance the provider says is gone is deleted (event
// DeletingNode); one whose instance is shut down gets the
// node.cloudprovider.kubernetes.io/shutdown taint, which comes off when
// it is Ready again.
package node
