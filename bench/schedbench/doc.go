// Package schedbench is the scheduler benchmark: a real `kemudi server`
// process (API server, etcd, scheduler, controllers), 5,000 simulated
// nodes (`kemudi sim-nodes`, a process of its own that keeps their
// leases fresh; like scheduler_perf's nodes they leave bound pods
// Pending unless RunPods asks them to turn them Running), and 10,000
// small pods created by 32 client-go clients on their own connections
// while a watch notes when each pod is bound. upstream's scheduler_perf
// SchedulingBasic workload (5,000 nodes, pods asking 100m cpu and
// 500Mi), measured end to end. The anti-affinity workload is
// scheduler_perf's SchedulingPodAntiAffinity: 1,000 pods placed first,
// then 2,000 measured, every one with required anti-affinity to the
// others by hostname.
//
// Definitions:
//   - pods/s: measured pods bound / (first create's start .. last
//     binding the watch saw).
//   - create->bound: a pod's create request start to the watch event
//     that shows it bound.
//   - bound exactly once: every measured pod is bound, and no pod's
//     spec.nodeName ever changes once set (the watch would see it).
//   - scheduler CPU and memory: with -scheduler-process the scheduler
//     runs as `kemudi scheduler`, a process of its own (the server runs
//     with --disable scheduler), so its CPU time and RSS are its own;
//     otherwise the server's CPU profile, whose scheduler samples carry
//     the label component=scheduler, tells its share.
//   - CPU is user+system time over the measured window, per process;
//     RSS is VmRSS after the run and VmHWM.
package schedbench
