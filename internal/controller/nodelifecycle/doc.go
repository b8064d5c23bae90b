// Package nodelifecycle holds upstream's node-lifecycle controller and its
// taint-eviction controller.
//
// The node lifecycle controller watches node Leases and node status: a
// node silent past the grace period has its conditions set Unknown and
// gets the node.kubernetes.io/unreachable NoExecute taint (not-ready when
// its kubelet reports NotReady); every node gets the NoSchedule taints its
// conditions call for; a node that comes back loses them. The taint
// eviction controller deletes pods from nodes with NoExecute taints they
// do not tolerate, after their tolerationSeconds.
package nodelifecycle
