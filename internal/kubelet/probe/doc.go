// Package probe runs containers' startup, liveness and readiness probes
// (exec through the runtime, httpGet, tcpSocket, grpc) with upstream's
// timing and thresholds, and keeps their results for the pod workers.
package probe
