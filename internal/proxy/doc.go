// Package proxy is kemudi's kube-proxy: it makes Services carry traffic by
// programming nftables, in a table of its own ("ip kemudi-proxy"), through
// netlink.
//
// The shape follows upstream's nftables mode: informers on Services,
// EndpointSlices and the proxy's own Node feed an immutable snapshot per
// service; Compute turns a snapshot into the rules it needs (a pure function,
// tested with golden files); the rules are diffed against what was last
// applied, and the difference goes to the kernel in one transaction. Every
// service owns its chains, its elements in the shared verdict maps (keyed
// by address . protocol . port) and, per port, a range of slots in one of
// a few shared endpoint maps (slots.go): one endpoint change redraws that
// range's elements and touches no rule, so the kernel commits it without
// revalidating the table. Transactions are written straight into netlink
// messages (wire.go); google/nftables encodes expressions and reads.
package proxy
