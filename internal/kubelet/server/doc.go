// Package server is the kubelet's HTTPS API on :10250, as upstream's: the
// API server reads container logs, runs exec, attach and port-forward
// sessions, and proxies nodes/proxy requests through it.
//
// Every request is authenticated (a client certificate the cluster CA
// signed, or a bearer token checked with a TokenReview) and authorized by
// the API server (a SubjectAccessReview on nodes/proxy, nodes/log,
// nodes/stats, ... as upstream maps paths to subresources). Streams are
// not served here: the CRI runtime's streaming server serves them, and
// this server proxies the upgraded connection to the URL the runtime
// returns, as upstream's kubelet does.
package server
