// Package tutorialbench times the seed's tutorial on a one-machine
// kemudi cluster: `kemudi server` with its agent in a network namespace
// the benchmark makes, driven with the commands a user types
// (kemudi image build/push, kemudi kubectl create deployment/expose):
//
//   - the tutorial's wall time, from `kemudi image build` of the seed's
//     alifah-Flask folder (test/e2e/testdata/tutorial) to the page
//     answering through the load balancer's address (build, push,
//     create+expose → page), with the build uncached (first) and cached
//     (the same build again);
//   - `kubectl create deployment` to the first HTTP 200 through the load
//     balancer, with the image in the embedded registry but not on the node
//     (every image removed from the node through the CRI, then
//     `kemudi image prune --all` for the build cache, which keeps a
//     removed built image's layers; the store is checked empty; target
//     ≤ 2 s), and
//     with it on the node; KEMUDI_BENCH_ROUNDS times each (default 3),
//     median.
//
// Each round is also printed step by step (seconds after kubectl create
// started): kubectl returned, the pod exists, is scheduled, the kubelet
// wrote its status, the runtime logged "sandbox ready" and "image
// pulled", the pull's own duration (the Pulled event), the container
// running, a ready endpoint in the service's EndpointSlice, the first 200,
// and the CPU time `kemudi server` used over the round (it runs the API
// server, controllers, kubelet and the runtime that pulls and unpacks):
// on 2 shared cores the wall times follow the machine's load, the CPU
// time much less; beside it, how long the server's threads waited for a
// CPU (schedstat run delay, summed over threads), the load's share of
// the wall time. Running → 200 is mostly the app's own start-up (Python
// importing Flask). With KEMUDI_BENCH_PROFILE_DIR set, each cold round
// writes the server's CPU profile over its first 8 s there
// (cold-N.pprof, for `go tool pprof KEMUDI_BIN cold-N.pprof`).
//
// The Python base image comes from testimages.PythonFlaskBase (mmdebstrap,
// cached). The load balancer's address is from a pool: port 5000 on the
// node's own address is the embedded registry's.
//
//	go test ./bench/tutorialbench -run XXX -bench Tutorial -benchtime 1x
package tutorialbench
