// Package apiserver is kemudi's kube-apiserver: the HTTP front end of the
// Kubernetes API. It serves every resource listed by internal/registry/all
// with upstream's paths, verbs, status codes, content types, tables and
// discovery, storing objects through internal/storage. It is the only
// component that touches etcd.
package apiserver
