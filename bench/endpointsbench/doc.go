// Package endpointsbench measures how fast endpoints follow readiness: a
// real `kemudi server` process (API server, etcd, controllers), simulated
// nodes (internal/simnode, in the benchmark process) acting as kubelets,
// one Service selecting 1,000 pods (KEMUDI_BENCH_ENDPOINT_PODS) that each
// carry a readiness gate the benchmark sets, so that it decides when a
// pod turns Ready.
//
// Definitions:
//   - converge: from the first pod create to the Endpoints object listing
//     every pod (not ready) and the slices holding every endpoint.
//   - flip: the readiness gate of one pod is set (alternately True and
//     False, Flips times, one at a time); "ready->endpoints" is from the
//     watch event that shows the pod's Ready condition changed to the
//     watch event of the Endpoints object that shows the address moved,
//     "ready->slice" the same for the pod's EndpointSlice endpoint. Both
//     include the watch delivery to the benchmark; "gate->ready" is the
//     simulated kubelet's share (gate set to pod Ready).
//   - all ready: every gate set at once by 16 clients; the time from the
//     first gate to the Endpoints object showing every address ready.
//
// The target: endpoints of a 1,000-pod service updated within 1 s
// of a readiness change (ready->endpoints max).
package endpointsbench
