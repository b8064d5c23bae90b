// Package nodeipam is upstream's node-ipam controller with its range
// allocator: each node gets spec.podCIDR (and spec.podCIDRs, one per
// cluster CIDR) carved from the cluster CIDRs, and gives it back when it
// goes.
package nodeipam
