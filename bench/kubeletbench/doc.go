// Package kubeletbench measures a kubelet on its runtime: N pods of a
// present image created at once (create → Ready as a watch sees it),
// the node Ready after the kubelet starts, the memory of the runtime
// (and of the kubelet, where it is a process of its own) idle and per
// running pod, and their CPU idle with the pods running. It measures,
// in one run, on one control plane and through the same code, two
// peers side by side:
//
//   - kemudi's kubelet, run in the benchmark's process against an
//     in-process control plane (clustertest), on kemudi's runtime in a
//     network namespace (kubelettest);
//   - upstream's kubelet 1.37 (built by test/upstream/build-binary.sh,
//     or $KEMUDI_UPSTREAM_KUBELET) on Debian's containerd, runc and CNI
//     bridge, both run inside a network namespace of their own (the
//     pod network, routes and iptables stay there), with every
//     directory under the runtime's and cgroups under its cgroup root;
//     it reaches the control plane through a relay from the namespace's
//     loopback to the benchmark's.
//
// Not `kemudi server` with its agent: the agent on the host would set up
// the host's pod network, and the bench harness cannot yet start a
// server inside a network namespace. So kemudi's memory and CPU figures
// are the runtime's processes only; its kubelet's share is not separated
// from the control plane's. Both runtimes pull the image and the pause
// image (containerd's) from a loopback registry for a first pod, which is
// not timed.
//
//	go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_PODS=100 go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_ONLY=upstream go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//
// KEMUDI_BENCH_IDLE_SECONDS (default 30) is how long idle CPU is
// measured with the pods running.
package kubeletbench
