// Package kubeletbench measures a kubelet on its runtime: N pods of a
// present image created at once (create → Ready as a watch sees it),
// the node Ready after the kubelet starts, the memory of the runtime
// (and of the kubelet, where it is a process of its own) idle and per
// running pod, and their CPU idle with the pods running. It measures,
// in one run, on one control plane and through the same code, three
// peers side by side:
//
//   - kemudi's kubelet, run in the benchmark's process against an
//     in-process control plane (clustertest), on kemudi's runtime in a
//     network namespace (kubelettest);
//   - `kemudi agent`, the node as users run it (kubelet and runtime in
//     one process, the container supervisor beside it; its proxy, DNS,
//     local-path provisioner and load-balancer announcer off), inside a
//     network namespace of its own, reaching the control plane through
//     a relay from the namespace's loopback to the benchmark's: its
//     memory and CPU are the node's whole, the kubelet's included;
//   - upstream's kubelet 1.37 (built by test/upstream/build-binary.sh,
//     or $KEMUDI_UPSTREAM_KUBELET) on Debian's containerd, runc and CNI
//     bridge, both run inside a network namespace of their own (the
//     pod network, routes and iptables stay there), with every
//     directory under the runtime's and cgroups under its cgroup root,
//     through a relay as the agent's.
//
// The first column's kubelet shares the benchmark's process with the
// control plane, so its memory and CPU are not separated from the
// control plane's: that column's figures are the runtime's processes
// only. All runtimes pull the image and the pause image (containerd's)
// from a loopback registry for a first pod, which is not timed.
//
//	go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_PODS=100 go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_ONLY=agent go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_ONLY=upstream go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//
// KEMUDI_BENCH_IDLE_SECONDS (default 30) is how long idle CPU is
// measured with the pods running; KEMUDI_BENCH_SETTLE (default 15) how
// many seconds the processes are left alone before their memory is read
// (a Go runtime gives a burst's garbage back over time, kemudi's once it
// is quiet).
package kubeletbench
