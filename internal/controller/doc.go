// Package controller holds what every controller of the controller
// manager shares: the one shape of a control loop (informers enqueue keys,
// workers run a level-based sync, requeue rules in one place), and the
// context controllers are built from. Each controller lives in its own
// package below (deployment, replicaset, endpoints, node, ...) and talks to
// the cluster only through the API.
package controller
