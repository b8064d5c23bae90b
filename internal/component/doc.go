// Package component is how one of kemudi's components runs as a process
// of its own: its logging (slog, with klog routed into it), its
// kubeconfig, the wait for its API server, and the Supervisor that
// restarts it when it fails. It is small on purpose: the standalone DNS
// binary (cmd/kemudi-dns) is built from it and internal/dns alone.
package component
