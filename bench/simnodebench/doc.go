// Package simnodebench measures simulated nodes (internal/simnode, run
// as `kemudi sim-nodes`, a process of its own) next to a real `kemudi
// server` process on the same machine: what 5,000 nodes cost while idle
// (lease renewals every 10 s spread over the interval, status reports
// every minute), and while they turn 10,000 pods bound to them Running
// and Ready. It reports, it does not assert.
//
// Definitions:
//   - registration: `kemudi sim-nodes` start to its "nodes registered"
//     line (every Node and Lease created).
//   - idle: a window (KEMUDI_BENCH_IDLE, default 60s) after a first
//     renewal round; CPU is the sim-nodes and server processes' user+system
//     time over it, in cores; "oldest lease" is the largest
//     now - renewTime over all leases at its end (fresh leases keep it
//     under the renewal interval).
//   - pods: Pods (KEMUDI_BENCH_PODS, default 10,000) created with
//     spec.nodeName set, round-robin over the nodes, by 32 goroutines; a
//     watch sees each become Running and Ready. "running/s" is pods /
//     (first create .. last pod Ready); "create->ready" is from a
//     create's response to the watch event showing it Ready.
//   - RSS is VmRSS of the sim-nodes process; peak its VmHWM.
package simnodebench
