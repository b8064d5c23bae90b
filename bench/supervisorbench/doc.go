// Package supervisorbench measures the node's container supervisor
// (internal/cri/supervisor) alone, through its client, with real
// containers (busybox-static rootfs, as root):
//
//   - create+start: the time of Create plus Start of one container
//     (`sleep`), to the client's answer that it runs; one at a time.
//   - exec (BenchmarkExecSync): ExecSync of `true` in a running container,
//     the runtime's part of `kubectl exec POD -- true`: p50, p90, p99 and
//     the CPU per exec. Its tail is the kernel's: moving the exec'd
//     process into the container's cgroup v1 hierarchies waits, when no
//     other migration came just before, for an RCU grace period (the
//     cgroup_threadgroup_rwsem's; the hierarchies' favordynmods mount
//     option would spare it).
//   - RSS: the resident memory of the keeper and the supervisor, idle (no
//     container) and with KEMUDI_BENCH_CONTAINERS (default 20) containers
//     running, per container the difference divided by the count. PSS is
//     reported beside it (the keeper and the supervisor share their
//     binary's pages).
//
// Run: go test -run '^$' -bench . -benchtime 20x -v ./bench/supervisorbench/
// (exec: -bench ExecSync -benchtime 200x)
package supervisorbench
