// Package announce makes load-balancer addresses reachable on the nodes'
// L2 network, as MetalLB's layer 2 mode does: for each address one node
// (Elect) answers ARP requests (IPv4) and IPv6 neighbor solicitations for
// it on the interface that holds the node's InternalIP, and says so with
// gratuitous ARP and unsolicited neighbor advertisements when it takes
// the address over. The address is never added to the interface: the
// proxy's rules on the node translate traffic to it.
//
// Every agent runs an Announcer (unless --disable-lb-announce). It marks
// its Node with AnnotationKey while it runs, so only nodes that answer
// are elected, and removes the mark when it stops, so that another node
// takes over at once; a node that dies instead loses its addresses when
// it goes NotReady.
//
// The addresses announced are the status.loadBalancer.ingress IPs of
// LoadBalancer Services that no other implementation claims
// (spec.loadBalancerClass unset) and that are not an address of a node:
// the pool (--lb-address-pool) is the cloud controller manager's flag,
// possibly on another machine, and the status it writes is the truth;
// node addresses (the local provider without a pool) are answered by
// their nodes' own kernels.
package announce
