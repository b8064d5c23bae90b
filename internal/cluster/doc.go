// Package cluster assembles kemudi's components into processes: it owns
// the data directory, the certificates and kubeconfigs, and the start
// order of the control plane (etcd, then the API server, then the clients
// of the API).
package cluster
