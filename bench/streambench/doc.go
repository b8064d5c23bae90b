// Package streambench measures what issue 9's users do into running pods,
// end to end through the API server and the kubelet's API:
//
//   - `kubectl exec POD -- true`: the round trip of the real kubectl
//     process (start, TLS, upgrade, exec, exit code), p50 and p99 over
//     KEMUDI_BENCH_EXECS runs (200), over WebSocket (kubectl's default;
//     the API server translates it to SPDY for the kubelet, as upstream's
//     does) and over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false);
//     beside them the same exec through client-go's remotecommand in one
//     process, which leaves out kubectl's own start-up: WebSocket (SPDY,
//     marked *, if the WebSocket upgrade were refused) and SPDY, and
//     the CPU time one such exec costs the server (API server and
//     kubelet), the runtime's processes and client-go.
//   - port-forward throughput: a GET of a 256 MiB file (tmpfs) from busybox
//     httpd through `kubectl port-forward`, MiB/s, median of 3, over
//     WebSocket (SPDY tunneled in WebSocket messages, kubectl's default)
//     and over SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false); beside each,
//     the CPU time the server (API server and kubelet), the runtime's
//     processes and kubectl spent per GiB, which the shared machine's
//     load moves far less than MiB/s.
//   - `kubectl logs` of a container that wrote 100 MiB (lines of 101
//     bytes) to stdout: MiB/s of kubectl's output, median of 3; beside
//     it the same log through client-go into io.Discard, the server's
//     part alone (kubectl writes each line with a write(2) of its own);
//     and kubectl logs of the same lines from a server in the benchmark
//     answering from memory: kubectl's own ceiling on this machine.
//
// Targets (issue 9): exec p99 ≤ 50 ms; port-forward ≥ 200 MiB/s; logs ≥
// 200 MiB/s.
//
// Each column named in KEMUDI_BENCH_RUNTIMES ("kemudi,containerd,upstream",
// the default) gets a `kemudi server` of its own inside a network
// namespace (made by kubelettest, with a loopback registry holding
// busybox):
//
//   - kemudi: the server's kubelet on kemudi's runtime (`kemudi runtime`);
//   - containerd: the server's kubelet on Debian's containerd, through
//     --runtime-endpoint;
//   - upstream: upstream's kubelet 1.37 (test/upstream/build-binary.sh,
//     or $KEMUDI_UPSTREAM_KUBELET) on Debian's containerd, joined to a
//     server that runs no node of its own, as a node joins a cluster:
//     TLS bootstrap with the server's bootstrap token, its API
//     authenticated and authorized through the server, its serving
//     certificate from a CSR. The peer.
//
// Beside the exec rows is `kubectl get pod web`: kubectl's own
// start, TLS handshake and one GET, which kubectl exec does too before
// its exec; no server makes kubectl exec faster than that.
//
// The load average is printed beside the figures: the machine has two
// cores shared with other work, so the figures are noisy. With
// KEMUDI_BENCH_PROFILE_DIR set, a CPU profile of the server process (API
// server and kubelet) is taken during each measurement.
//
//	go test ./bench/streambench -run XXX -bench Stream -benchtime 1x
//	KEMUDI_BENCH_RUNTIMES=upstream KEMUDI_BENCH_EXECS=50 go test ./bench/streambench -run XXX -bench Stream -benchtime 1x
//
// Needs root, containerd, runc and the CNI plugins (as kubelettest).
package streambench
