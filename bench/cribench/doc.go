// Package cribench measures CRI runtimes side by side through one CRI
// client (k8s.io/cri-api over the runtime's unix socket): kemudi runtime
// and containerd (Debian's containerd + runc + the CNI bridge,
// host-local and portmap plugins), each started by the benchmark in a
// network namespace of its own, with its own root, state and CNI config
// (internal/kubelet/kubelettest), and a loopback registry beside it
// holding a busybox image (and containerd's pause image, pulled first).
//
// For each runtime:
//
//   - pull: PullImage of busybox (not yet present), once;
//   - one pod alone, repeated KEMUDI_BENCH_ALONE times (default 5), medians:
//     RunPodSandbox; CreateContainer + StartContainer; the two together
//     (RunPodSandbox to the container running); StopPodSandbox +
//     RemovePodSandbox;
//   - KEMUDI_BENCH_PODS pods at once (default 30; one container each, image
//     present): per pod RunPodSandbox + CreateContainer + StartContainer,
//     timed from the common start; p50, p99, max, errors; then stopping
//     and removing them all at once (wall time);
//   - the runtime's CPU per pod over the start of the pods at once: the CPU
//     time of the runtime's processes (those whose command line names its
//     directory: containerd and its shims, kemudi runtime and its
//     supervisor; children they reaped included) plus that of the pods'
//     cgroups (container inits before they exec the workload, pause
//     containers); the pods' own `sleep` costs next to nothing. A
//     container init's first stages (libcontainer's nsexec parent and
//     child, which exit) may count twice: in the pod cgroup and in the
//     reaped-children time of the process that waited for them (kemudi's
//     supervisor; runc under containerd's shim). The split by process is
//     printed under the table;
//   - RSS of the runtime's processes, summed: idle (no pod) and with the
//     pods running, each right after the calls and at rest (after
//     KEMUDI_BENCH_SETTLE seconds without a call, default 15: a Go
//     runtime gives a burst's garbage back over time, kemudi's once it is
//     quiet); per pod the difference at rest over the count; idle at rest
//     by process, split into anonymous memory, file pages and shared
//     memory. Besides, the RSS and anonymous memory of the processes it
//     keeps in the pods' cgroups other than their workload (pause
//     processes), per pod.
//
// The machine is shared and small (2 cores): figures are noisy, and
// /proc/loadavg is printed beside them.
//
// Profiles: KEMUDI_BENCH_ONLY=kemudi runs kemudi alone;
// KEMUDI_RUNTIME_CPUPROFILE=<file> and KEMUDI_SUPERVISOR_CPUPROFILE=<file>
// make kemudi runtime and its supervisor write CPU profiles of their run.
//
// Run (as root, with containerd, runc and containernetworking-plugins
// installed): KEMUDI_BIN=bin/kemudi go test -run '^$' -bench . -benchtime 1x -v ./bench/cribench/
package cribench
