// Package network is the pod network of kemudi's container runtime.
//
// The built-in network (the default) is what the CNI bridge, host-local and
// portmap plugins do together, without any plugin binary: a bridge (kemudi0)
// holding the first address of the node's pod CIDR as the pods' gateway, a
// veth per sandbox with its pod end named eth0 inside the sandbox's network
// namespace, addresses from a host-local allocator whose reservations are on
// disk, and nftables rules in kemudi's own tables (ip and ip6 kemudi-cri) for
// the masquerade of traffic leaving the cluster and for hostPorts. IPv4,
// IPv6 or both (a pod CIDR pair "10.42.0.0/24,fd00:42::/64"). With a CNI
// configuration directory and plugin directory, a CNI plugin chain run
// through libcni replaces all of that.
//
// "The node" is the network namespace the Manager runs against: that of the
// thread calling New, or Options.HostNetNS. Every netlink and nftables call
// goes through handles bound to that namespace (CNI plugins are forked from
// a thread inside it), so a test can play a node in a namespace of its own.
//
// A sandbox's address is reserved and its record written before anything
// is configured for it, so that Teardown works without the sandbox's
// namespace and Reconcile can undo what a crash left half done.
package network
