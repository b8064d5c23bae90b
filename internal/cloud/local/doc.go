// Package local is the cloud provider for machines without a cloud.
//
// A LoadBalancer Service gets an address at once: one from the
// configured pool (--lb-address-pool), or, with no pool, the addresses
// of the ready nodes, as k3s's ServiceLB does; the proxy on every node
// sends traffic for it to the pods, and one node, elected per address,
// answers ARP and NDP for a pool address on the nodes' LAN (package
// announce, run by every agent). What address a service gets is the
// pure function Choose; a service that cannot have one (two services
// wanting one port on the node addresses, a pool exhausted, a
// loadBalancerIP outside the pool or in use) gets an error naming why,
// which the service controller reports as a SyncLoadBalancerFailed
// event: never a silent <pending>.
//
// Routes: each node's pod CIDR is routed through its InternalIP. The
// route controller records the routes on the Nodes (RoutesAnnotation),
// and each agent puts the other nodes' routes into its own kernel
// (NodeRoutes): for nodes on one L2 network, pods talk across nodes with
// no route added by hand.
//
// The provider's "cloud" is the cluster itself: the load balancers it
// made are read back from the services' status after a restart, and
// each node is its own instance (providerID local://<node name>) until
// `kemudi node remove` records its machine as removed in the ConfigMap
// kube-system/kemudi-removed-nodes; a removed machine is an instance
// again once it joins anew with a token (a node client CSR made by a
// bootstrap token's user after the removal).
package local
