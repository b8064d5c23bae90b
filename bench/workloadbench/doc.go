// Package workloadbench measures the workload controllers of issue 4
// that are not Deployments: a real `kemudi server` process (API server,
// etcd, scheduler, controller manager), simulated nodes (internal/simnode,
// in the benchmark process) acting as kubelets, and, one after the other:
//
//   - a DaemonSet over every node (500, KEMUDI_BENCH_WORKLOAD_NODES):
//     from create to every pod available; then a rolling update
//     (maxUnavailable 20%) to every pod updated and available;
//   - a Parallel StatefulSet of 200 pods (KEMUDI_BENCH_WORKLOAD_REPLICAS):
//     create to ready, then a rolling update (maxUnavailable 20%);
//   - a Job of 2,000 completions, parallelism 200
//     (KEMUDI_BENCH_WORKLOAD_COMPLETIONS), whose pods succeed as soon as
//     they run: create to the Complete condition.
//
// Each phase is timed from the client's first write to the status that
// says it is done (polled every 100 ms), and a watch counts the pods the
// controllers created: a rollout must create exactly one pod per node or
// replica, a Job exactly one per completion (no runaway creation).
package workloadbench
