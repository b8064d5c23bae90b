// Package kubeletbench measures the kubelet on kemudi's runtime: N pods
// of a present image created at once (create → Ready as a watch sees
// it), the node Ready after the kubelet starts, and the runtime's memory
// idle and per running pod.
//
// It runs the kubelet in the benchmark's process against an in-process
// control plane (clustertest) and kemudi's runtime in a network
// namespace (kubelettest), not `kemudi server` with its agent: the
// agent on the host would set up the host's pod network, and the bench
// harness cannot yet start a server inside a network namespace. So the
// memory figures are the runtime's processes only; the kubelet's share
// is not separated from the control plane's.
//
//	go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
//	KEMUDI_BENCH_PODS=100 go test ./bench/kubeletbench -run XXX -bench Kubelet -benchtime 1x
package kubeletbench
